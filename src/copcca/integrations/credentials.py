"""Split a provider's validated config into sealed secrets and plain config."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from copcca.connectors.catalogue import ProviderConfig
from copcca.errors import InvalidInput, describe_validation_error
from copcca.models.integrations import Integration
from copcca.security.vault import Vault, row_context


def secret_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, f in model.model_fields.items() if _is_secret(f.annotation)]


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_secret(arg) for arg in typing.get_args(annotation))
    return False


def validate_config(
    model: type[ProviderConfig], values: dict[str, Any]
) -> ProviderConfig:
    """Validate against the provider's model; a 422 names each bad field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            field, message = describe_validation_error(dict(err))
            problems.append({"field": field or "credentials", "message": message})
        first = problems[0]
        raise InvalidInput(
            f"{first['field']}: {first['message']}",
            fix="Check the highlighted fields and try again.",
            problems=problems,
        ) from None


def split(config: ProviderConfig) -> tuple[dict[str, str], dict[str, Any]]:
    """(secrets, plain) from a validated config."""
    secret_names = set(secret_fields(type(config)))
    secrets: dict[str, str] = {}
    plain: dict[str, Any] = {}
    for name, value in config.model_dump(mode="json").items():
        raw = getattr(config, name)
        if name in secret_names:
            if raw is not None:
                secrets[name] = raw.get_secret_value()
        elif value is not None:
            plain[name] = value
    return secrets, plain


def context(integration: Integration) -> str:
    return row_context(
        "integrations", "credentials", integration.company_id, integration.id
    )


def seal(vault: Vault, integration: Integration, secrets: dict[str, str]) -> None:
    integration.credentials = vault.seal_json(secrets, context=context(integration))


def open_secrets(vault: Vault, integration: Integration) -> dict[str, str]:
    if integration.credentials is None:
        return {}
    return {
        k: str(v)
        for k, v in vault.open_json(
            integration.credentials, context=context(integration)
        ).items()
    }


def full_config(vault: Vault, integration: Integration) -> dict[str, Any]:
    """Plain config plus opened secrets: what a connector is given, never shown."""
    return {**integration.config, **open_secrets(vault, integration)}
