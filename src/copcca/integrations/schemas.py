"""API shapes for connected systems. Secrets go in, never come out."""

from __future__ import annotations

import types
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model

from copcca.connectors.registry import ProviderInfo, all_providers
from copcca.integrations.credentials import secret_fields
from copcca.models.integrations import Frequency, Integration

FieldKind = Literal["text", "secret", "choice", "boolean"]


class ConfigFieldOut(BaseModel):
    name: str
    title: str
    description: str | None = None
    secret: bool
    required: bool
    kind: FieldKind = Field(
        default="text",
        description="How a form asks for it: a text box, a password box, "
        "a list of choices or a yes/no box.",
    )
    choices: list[str] | None = None


class ProviderOut(BaseModel):
    key: str
    name: str
    category: str
    description: str
    auth_kind: str
    capabilities: list[str]
    brings: list[str]
    countries: list[str]
    available: bool = Field(description="True when live sync for it is built.")
    config_fields: list[ConfigFieldOut]

    @classmethod
    def of(cls, info: ProviderInfo) -> ProviderOut:
        return cls(
            key=info.key,
            name=info.name,
            category=info.category.value,
            description=info.description,
            auth_kind=info.auth_kind,
            capabilities=list(info.capabilities),
            brings=list(info.brings),
            countries=list(info.countries),
            available=info.available,
            config_fields=config_fields(info),
        )


def _unwrap_optional(annotation: Any) -> Any:
    """``X | None`` (or ``Optional[X]``) is asked for like ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


def field_kind(annotation: Any, secret: bool) -> tuple[FieldKind, list[str] | None]:
    """The form control a config field needs, read from its type, so every
    provider's yes/no settings get a checkbox and its fixed lists a select."""
    if secret:
        return "secret", None
    annotation = _unwrap_optional(annotation)
    if annotation is bool:
        return "boolean", None
    args = get_args(annotation)
    if (
        get_origin(annotation) is Literal
        and args
        and all(isinstance(a, str) for a in args)
    ):
        return "choice", list(args)
    return "text", None


def config_fields(info: ProviderInfo) -> list[ConfigFieldOut]:
    secrets = set(secret_fields(info.config_model))
    out = []
    for name, f in info.config_model.model_fields.items():
        kind, choices = field_kind(f.annotation, name in secrets)
        out.append(
            ConfigFieldOut(
                name=name,
                title=f.title or name.replace("_", " ").capitalize(),
                description=f.description,
                secret=name in secrets,
                required=f.is_required() and kind != "boolean",
                kind=kind,
                choices=choices,
            )
        )
    return out


class IntegrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    provider: str
    name: str
    category: str
    status: str
    health: str
    health_reason: str | None
    frequency: str
    streams: list[str]
    config: dict[str, Any] = Field(description="Settings that are safe to show.")
    credentials_set: list[str] = Field(description="Names of the secrets on file.")
    callback_path: str | None = None
    last_sync_at: datetime | None
    last_success_at: datetime | None
    next_sync_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, integration: Integration, secret_names: list[str]) -> IntegrationOut:
        return cls(
            id=integration.id,
            provider=integration.provider,
            name=integration.name,
            category=integration.category,
            status=integration.status,
            health=integration.health,
            health_reason=integration.health_reason,
            frequency=integration.frequency,
            streams=list(integration.streams),
            config=dict(integration.config),
            credentials_set=secret_names,
            callback_path=(
                f"/hooks/{integration.provider}/{integration.callback_token}"
                if integration.callback_token
                else None
            ),
            last_sync_at=integration.last_sync_at,
            last_success_at=integration.last_success_at,
            next_sync_at=integration.next_sync_at,
            created_at=integration.created_at,
            updated_at=integration.updated_at,
        )


class _CreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    frequency: Frequency = Frequency.HOURLY


def _create_model(info: ProviderInfo) -> type[_CreateBase]:
    fields: dict[str, Any] = {
        "provider": (Literal[info.key], Field(description=info.name)),
        "credentials": (info.config_model, ...),
        "streams": (list[Literal[info.brings]] | None, None),  # type: ignore[name-defined]
    }
    model: type[_CreateBase] = create_model(
        f"{info.config_model.__name__.removesuffix('Config')}Connect",
        __base__=_CreateBase,
        **fields,
    )
    return model


# One body shape per provider, told apart by "provider" (a discriminated
# union), so the API reference shows exactly which credentials each needs.
IntegrationCreate: Any = Annotated[
    Union[tuple(_create_model(p) for p in all_providers())],  # noqa: UP007
    Field(discriminator="provider"),
]


class IntegrationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    frequency: Frequency | None = None
    streams: list[str] | None = None
    paused: bool | None = None
    credentials: dict[str, Any] | None = Field(
        default=None, description="Only the fields to replace; others are kept."
    )


class IntegrationList(BaseModel):
    items: list[IntegrationOut]
