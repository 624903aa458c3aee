"""What people ask of a connection: check it live, sync it now, reconnect it.

Provider calls never run inside a writing unit of work: these functions
read in one short transaction, call the provider, then write the outcome
in another (on SQLite a writer holds the whole database).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session

from copcca.connectors.base import CheckResult
from copcca.connectors.registry import get_provider
from copcca.db.session import Database
from copcca.errors import Conflict, CopccaError, NotFound, VaultError
from copcca.integrations import credentials
from copcca.integrations import service as integrations
from copcca.models.integrations import (
    Health,
    Integration,
    IntegrationStatus,
    SyncStatus,
)
from copcca.models.sync import SyncRun
from copcca.models.tenancy import Company
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.security.vault import Vault
from copcca.sync import runs
from copcca.sync.context import connector_for, open_context, unsaved_context
from copcca.sync.logs import finish_log, start_log


class CheckFailed(CopccaError):
    """The provider refused the credentials typed in (nothing was saved)."""

    status_code = 422
    code = "check_failed"


def request_sync(
    session: Session,
    actor: Principal,
    integration_id: uuid.UUID,
    *,
    trigger: str = "manual",
    full_resync: bool = False,
) -> runs.RunRequest:
    """Ask for a sync now; at most one waits per connection (J6)."""
    integration = integrations.get_integration(session, actor, integration_id)
    info = get_provider(integration.provider)
    if not info.available:
        raise Conflict(
            f"Live sync for {info.name} is not built yet.",
            fix="Your credentials are saved; syncing starts once it is ready.",
        )
    if not info.pulls:
        raise Conflict(
            f"{info.name} sends its data to us by itself: there is nothing to sync.",
            fix="Its page shows when the last callback arrived.",
        )
    if integration.status == IntegrationStatus.PAUSED:
        raise Conflict(
            f"'{integration.name}' is paused.", fix="Resume it, then press Sync now."
        )
    if integration.status == IntegrationStatus.NEEDS_RECONNECT:
        raise Conflict(
            f"'{integration.name}' needs reconnecting first.",
            fix=f"Reconnect {info.name}: enter the credentials again or sign in.",
        )
    return runs.request_run(
        session,
        actor.company_id,
        integration.id,
        trigger=trigger,
        full_resync=full_resync,
        requested_by=actor.user_id,
    )


def get_run(
    session: Session, actor: Principal, integration_id: uuid.UUID, run_id: uuid.UUID
) -> SyncRun:
    integrations.get_integration(session, actor, integration_id)
    run = runs.SyncRunRepository(session, actor.company_id).get(run_id)
    if run is None or run.integration_id != integration_id:
        raise NotFound("No such sync.", fix="Open the connection's page.")
    return run


def _load(
    db: Database, actor: Principal, integration_id: uuid.UUID
) -> tuple[Integration, Company]:
    with db.transaction(actor.company_id, user_id=actor.user_id, write=False) as s:
        integration = integrations.get_integration(s, actor, integration_id)
        company = s.get(Company, actor.company_id)
        assert company is not None
        return integration, company


def check_integration(
    db: Database,
    vault: Vault,
    actor: Principal,
    integration_id: uuid.UUID,
    *,
    transport: httpx.BaseTransport | None = None,
) -> CheckResult:
    """Test the stored credentials live; record the outcome and a log row."""
    integration, company = _load(db, actor, integration_id)
    connector = connector_for(integration.provider)
    name = get_provider(integration.provider).name
    try:
        with open_context(db, vault, integration, company, transport=transport) as ctx:
            result = connector.check(ctx)
    except VaultError as exc:
        result = CheckResult(False, exc.message, "auth", exc.fix)
    with db.transaction(actor.company_id, user_id=actor.user_id) as session:
        live = integrations.get_integration(session, actor, integration_id)
        _record_check(session, live, result, name)
    return result


def _record_check(
    session: Session, integration: Integration, result: CheckResult, name: str
) -> None:
    log = start_log(
        session,
        integration.company_id,
        provider=integration.provider,
        integration_id=integration.id,
        kind="check",
    )
    finish_log(
        log,
        status=SyncStatus.SUCCESS if result.ok else SyncStatus.FAILED,
        message=result.message,
        error_kind=result.error_kind,
        fix=result.fix,
    )
    if result.ok and integration.status in (
        IntegrationStatus.SAVED,
        IntegrationStatus.NEEDS_RECONNECT,
    ):
        integration.status = IntegrationStatus.CONNECTED.value
        if integration.health == Health.RED:
            integration.health, integration.health_reason = Health.GREY.value, None
    elif not result.ok and result.error_kind == "auth":
        integration.status = IntegrationStatus.NEEDS_RECONNECT.value
        integration.health = Health.RED.value
        integration.health_reason = f"{result.message} {result.fix or ''}".strip()


def check_credentials(
    company: Company,
    provider: str,
    values: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
) -> CheckResult:
    """Validate typed-in credentials and test them live before anything is
    stored (the connect wizard's first step)."""
    info = get_provider(provider)
    config = credentials.validate_config(info.config_model, values)
    secrets, plain = credentials.split(config)
    connector = connector_for(provider)
    with unsaved_context(
        company, provider, {**plain, **secrets}, transport=transport
    ) as ctx:
        return connector.check(ctx)


def require_ok(result: CheckResult) -> None:
    if not result.ok:
        raise CheckFailed(
            result.message,
            fix=result.fix or "Check what you typed and try again.",
            error_kind=result.error_kind,
        )


@dataclass(frozen=True)
class Reconnected:
    integration: Integration
    run: SyncRun | None


def reconnect(
    db: Database,
    vault: Vault,
    actor: Principal,
    integration_id: uuid.UUID,
    values: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
) -> Reconnected:
    """Replace credentials only if the provider accepts them live, then
    resume syncing. Empty fields keep the stored value."""
    integration, company = _load(db, actor, integration_id)
    info = get_provider(integration.provider)
    try:
        stored = credentials.open_secrets(vault, integration)
        unreadable = False
    except VaultError:
        stored, unreadable = {}, True
    typed = {k: v for k, v in values.items() if v not in ("", None)}
    merged = {**integration.config, **stored, **typed}
    require_ok(check_credentials(company, info.key, merged, transport=transport))
    with db.transaction(actor.company_id, user_id=actor.user_id) as session:
        if unreadable:  # start from what was typed: the old seal cannot open
            integrations.get_integration(
                session, actor, integration_id
            ).credentials = None
        changed = integrations.change(
            session,
            actor,
            vault,
            integration_id,
            integrations.IntegrationChange(credentials=typed or merged),
        )
        return Reconnected(changed, _after_reconnect(session, actor, changed))


def _after_reconnect(
    session: Session, actor: Principal, integration: Integration
) -> SyncRun | None:
    integration.status = IntegrationStatus.CONNECTED.value
    integration.health, integration.health_reason = Health.GREY.value, None
    audit.record(
        session,
        actor,
        "integration.reconnect",
        f"Reconnected '{integration.name}' (credentials checked live).",
        target_type="integration",
        target_id=integration.id,
    )
    if integration.last_sync_at is None or not get_provider(integration.provider).pulls:
        return None  # the wizard's last step starts syncing; payment rails never do
    return request_sync(session, actor, integration.id, trigger="reconnect").run
