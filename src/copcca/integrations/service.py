"""Connect, change, pause and disconnect systems. Every change is audited
with secrets masked; secrets are sealed by the vault and never returned."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from copcca.connectors.registry import Category, ProviderInfo, get_provider
from copcca.db.base import utcnow
from copcca.errors import Conflict, InvalidInput
from copcca.integrations import credentials
from copcca.integrations.repository import IntegrationRepository
from copcca.models.integrations import Frequency, Integration, IntegrationStatus
from copcca.security import audit
from copcca.security.principal import SENSITIVE_CATEGORIES, Principal
from copcca.security.vault import Vault
from copcca.sync.outcome import next_sync
from copcca.webhooks.inbound import tokens

# Capabilities that mean the provider calls us: such a connection gets an
# unguessable receiving address, /hooks/{provider}/{company hex}.{random}.
RECEIVING_CAPABILITIES = frozenset({"webhooks", "callbacks"})


def receives_calls(info: ProviderInfo) -> bool:
    return bool(RECEIVING_CAPABILITIES & set(info.capabilities))


@dataclass(frozen=True)
class NewIntegration:
    provider: str
    credentials: dict[str, Any]
    name: str | None = None
    frequency: str = Frequency.HOURLY.value
    streams: list[str] | None = None
    # True when the credentials were just checked live with the provider.
    checked: bool = False
    # False while the connect wizard is still asking what to sync; the
    # wizard's last step starts the first sync itself.
    schedule: bool = True


@dataclass(frozen=True)
class IntegrationChange:
    name: str | None = None
    frequency: str | None = None
    streams: list[str] | None = None
    paused: bool | None = None
    credentials: dict[str, Any] | None = None


def visible_categories(actor: Principal) -> list[str] | None:
    """None means all; members do not see payment and accounting systems."""
    if actor.is_admin:
        return None
    return [c.value for c in Category if c.value not in SENSITIVE_CATEGORIES]


def list_integrations(session: Session, actor: Principal) -> Sequence[Integration]:
    repo = IntegrationRepository(session, actor.company_id)
    return repo.listing(visible_categories(actor))


def get_integration(
    session: Session, actor: Principal, integration_id: uuid.UUID
) -> Integration:
    integration = IntegrationRepository(session, actor.company_id).get_or_404(
        integration_id
    )
    actor.require_category(integration.category)
    return integration


def _check_frequency(value: str) -> str:
    try:
        return Frequency(value).value
    except ValueError as exc:
        raise InvalidInput(
            "Choose how often to sync: realtime, 15m, hourly, daily or manual.",
            field="frequency",
        ) from exc


def _check_streams(info: ProviderInfo, streams: list[str] | None) -> list[str]:
    if streams is None:
        return list(info.brings)
    unknown = sorted(set(streams) - set(info.brings))
    if unknown:
        raise InvalidInput(
            f"{info.name} does not bring {', '.join(unknown)}.",
            fix=f"Choose from: {', '.join(info.brings)}.",
            field="streams",
        )
    return list(dict.fromkeys(streams))


def _unique_name(
    repo: IntegrationRepository, wanted: str, exclude: uuid.UUID | None
) -> str:
    name = wanted.strip()
    if not name or len(name) > 120:
        raise InvalidInput(
            "Give the connection a name of 1 to 120 characters.", field="name"
        )
    clash = repo.by_name(name)
    if clash is not None and clash.id != exclude:
        raise Conflict(
            f"You already have a connection called '{name}'.",
            fix="Choose another name, e.g. add the branch or shop name.",
            field="name",
        )
    return name


def connect(
    session: Session, actor: Principal, vault: Vault, new: NewIntegration
) -> Integration:
    """Store a new connection with its secrets sealed."""
    info = get_provider(new.provider)
    actor.require_category(info.category.value)
    repo = IntegrationRepository(session, actor.company_id)
    name = _unique_name(repo, new.name or info.name, None)
    config = credentials.validate_config(info.config_model, new.credentials)
    secret_values, plain = credentials.split(config)
    frequency = _check_frequency(new.frequency)
    integration = Integration(
        id=uuid.uuid4(),
        provider=info.key,
        name=name,
        category=info.category.value,
        status=(
            IntegrationStatus.CONNECTED if new.checked else IntegrationStatus.SAVED
        ).value,
        config=plain,
        streams=_check_streams(info, new.streams),
        frequency=frequency,
        connected_by=actor.user_id,
        callback_token=(
            tokens.new_token(actor.company_id) if receives_calls(info) else None
        ),
        next_sync_at=(
            utcnow()
            # Only providers with records to pull: payment rails call us.
            if new.schedule and info.pulls and frequency != Frequency.MANUAL
            else None
        ),
    )
    repo.add(integration)
    credentials.seal(vault, integration, secret_values)
    session.flush()
    audit.record(
        session,
        actor,
        "integration.connect",
        f"Connected {info.name} as '{name}'.",
        target_type="integration",
        target_id=integration.id,
        after={**plain, **dict.fromkeys(secret_values, "set")},
    )
    return integration


def change(
    session: Session,
    actor: Principal,
    vault: Vault,
    integration_id: uuid.UUID,
    patch: IntegrationChange,
) -> Integration:
    """Rename, re-time, pause/resume or replace credentials."""
    integration = get_integration(session, actor, integration_id)
    info = get_provider(integration.provider)
    repo = IntegrationRepository(session, actor.company_id)
    before = snapshot(integration)
    if patch.name is not None:
        integration.name = _unique_name(repo, patch.name, integration.id)
    if patch.frequency is not None:
        integration.frequency = _check_frequency(patch.frequency)
        integration.next_sync_at = _rescheduled(integration)
    if patch.streams is not None:
        integration.streams = _check_streams(info, patch.streams)
    if patch.paused is True:
        integration.status = IntegrationStatus.PAUSED.value
    elif patch.paused is False and integration.status == IntegrationStatus.PAUSED:
        integration.status = IntegrationStatus.SAVED.value
    changed_secrets: list[str] = []
    if patch.credentials is not None:
        current = {**integration.config, **credentials.open_secrets(vault, integration)}
        merged = {**current, **{k: v for k, v in patch.credentials.items() if v != ""}}
        config = credentials.validate_config(info.config_model, merged)
        secret_values, plain = credentials.split(config)
        old_secrets = credentials.open_secrets(vault, integration)
        changed_secrets = sorted(
            k for k in secret_values if secret_values[k] != old_secrets.get(k)
        )
        integration.config = plain
        credentials.seal(vault, integration, secret_values)
        integration.status = IntegrationStatus.SAVED.value
    after = snapshot(integration)
    after.update(dict.fromkeys(changed_secrets, "changed"))
    audit.record(
        session,
        actor,
        "integration.change",
        f"Changed the connection '{integration.name}'.",
        target_type="integration",
        target_id=integration.id,
        before=before,
        after=after,
    )
    return integration


def _rescheduled(integration: Integration) -> datetime | None:
    """The next sync under a new frequency, counted from the last one."""
    if integration.frequency == Frequency.MANUAL:
        return None
    if integration.last_sync_at is None:
        return integration.next_sync_at
    return next_sync(integration.frequency, integration.last_sync_at)


def disconnect(session: Session, actor: Principal, integration_id: uuid.UUID) -> None:
    """Remove the connection and its sealed secrets. CRM records stay."""
    integration = get_integration(session, actor, integration_id)
    audit.record(
        session,
        actor,
        "integration.disconnect",
        f"Disconnected '{integration.name}'. Its customers, products and sales "
        "stay in the CRM.",
        target_type="integration",
        target_id=integration.id,
        before=snapshot(integration),
    )
    IntegrationRepository(session, actor.company_id).delete(integration)


def snapshot(integration: Integration) -> dict[str, Any]:
    """What an audit entry keeps of a connection (never secrets)."""
    return {
        "name": integration.name,
        "status": integration.status,
        "frequency": integration.frequency,
        "streams": list(integration.streams),
        **integration.config,
    }
