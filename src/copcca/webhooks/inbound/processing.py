"""Process stored webhook events: one batch per job, one sync log row per
batch.

Phase 1, outside any transaction: for each pending event, the connector's
``apply_webhook`` turns it into CRM records (it may call the provider, e.g.
a status query before money counts). Phase 2, one transaction: each event
row moves from pending to processed *only if it is still pending* (another
job may have done it: W7, one effect), its records are upserted in a
savepoint, and the batch's log row is written.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from copcca.config import Settings
from copcca.connectors.base import (
    ConnectionRevoked,
    ConnectorContext,
    InboundEvent,
    WebhookReceiver,
)
from copcca.connectors.errors import AuthError, DataError, ProviderError
from copcca.connectors.registry import get_provider
from copcca.crm.ingest import Ingestor
from copcca.db.base import utcnow
from copcca.db.session import Database
from copcca.errors import VaultError
from copcca.models.integrations import (
    Integration,
    IntegrationStatus,
    SyncStatus,
    WebhookInbox,
)
from copcca.models.tenancy import Company
from copcca.security.vault import Vault
from copcca.sync import outcome
from copcca.sync.batch import Batch, Item, upsert_safely
from copcca.sync.context import open_context
from copcca.sync.logs import finish_log, start_log
from copcca.webhooks.inbound.labels import event_label
from copcca.webhooks.inbound.repository import InboxRepository, InboxStatus
from copcca.webhooks.inbound.service import receiver_for

log = logging.getLogger("copcca.webhooks")

BATCH_SIZE = 10


@dataclass
class Applied:
    """What phase 1 made of one stored event."""

    row_id: uuid.UUID
    event_type: str
    item: Item | None = None
    revoked: str | None = None
    failure: tuple[str, str | None] | None = None  # (message, fix)
    retry: str | None = None  # a temporary problem: try again later


@dataclass
class Outcome:
    processed: int = 0
    failed: int = 0
    retrying: int = 0
    log_id: uuid.UUID | None = None
    by_type: dict[str, Batch] = field(default_factory=dict)


def process_pending(
    db: Database,
    vault: Vault,
    settings: Settings,
    company_id: uuid.UUID,
    integration_id: uuid.UUID,
    *,
    transport: httpx.BaseTransport | None = None,
) -> Outcome | None:
    """Process up to one batch of pending events of one integration."""
    with db.transaction(company_id, write=False) as session:
        integration = session.get(Integration, integration_id)
        company = session.get(Company, company_id)
        if integration is None or company is None:
            return None
        if integration.status == IntegrationStatus.PAUSED:
            return None  # kept pending; processed after resume
        rows = list(
            InboxRepository(session, company_id).pending(integration_id, BATCH_SIZE)
        )
    if not rows:
        return None
    receiver = receiver_for(integration.provider)
    try:
        with open_context(db, vault, integration, company, transport=transport) as ctx:
            applied = [_apply(receiver, ctx, row) for row in rows]
    except (AuthError, VaultError) as exc:
        _needs_reconnect(db, company_id, integration_id, exc)
        return None
    return _commit(db, settings, company, integration, applied)


def _apply(
    receiver: WebhookReceiver, ctx: ConnectorContext, row: WebhookInbox
) -> Applied:
    kind = row.event_type or "event"
    applied = Applied(row.id, kind)
    try:
        event = _event_of(receiver, row)
        result = receiver.apply_webhook(ctx, event)
    except AuthError:
        raise
    except DataError as exc:
        applied.failure = (exc.message, exc.fix)
        return applied
    except ProviderError as exc:
        if exc.retryable:
            applied.retry = exc.message
        else:
            applied.failure = (exc.message, exc.fix)
        return applied
    except Exception as exc:
        log.exception("webhook %s could not be applied", row.id)
        applied.retry = f"Something went wrong on our side ({type(exc).__name__})."
        return applied
    records = [r for r in result if not isinstance(r, ConnectionRevoked)]
    revoked = [r for r in result if isinstance(r, ConnectionRevoked)]
    if revoked:
        applied.revoked = revoked[0].message
    key = event.external_id or event.event_id
    applied.item = Item(
        key=key,
        label=f"{kind} {key}",
        records=records,
        raw=event.payload,
        extra={"inbox_id": str(row.id)},
    )
    return applied


def _event_of(receiver: WebhookReceiver, row: WebhookInbox) -> InboundEvent:
    events = receiver.parse_webhook(row.body, dict(row.headers or {}))
    for event in events:
        if event.event_id[:255] == row.event_id:
            return event
    raise DataError("The stored delivery no longer holds this event.")


def _commit(
    db: Database,
    settings: Settings,
    company: Company,
    integration: Integration,
    applied: list[Applied],
) -> Outcome:
    result = Outcome()
    now = utcnow()
    name = get_provider(integration.provider).name
    with db.transaction(company.id) as session:
        repo = InboxRepository(session, company.id)
        ingest = Ingestor(session, company, integration.id, source=integration.provider)
        for one in applied:
            _settle(session, repo, ingest, one, result, settings, now)
        if result.processed or result.failed:
            result.log_id = _write_log(session, integration, name, result)
        live = session.get(Integration, integration.id)
        revoked = next((a.revoked for a in applied if a.revoked), None)
        if live is not None and revoked:
            outcome.mark_needs_reconnect(session, live, revoked)
    return result


def _settle(
    session: Session,
    repo: InboxRepository,
    ingest: Ingestor,
    one: Applied,
    result: Outcome,
    settings: Settings,
    now: Any,
) -> None:
    batch = result.by_type.setdefault(one.event_type, Batch())
    if one.retry is not None:
        row = repo.get(one.row_id)
        if row is None or row.status != InboxStatus.PENDING:
            return
        row.attempts += 1
        row.error = one.retry
        if row.attempts >= settings.webhook_max_attempts:
            row.status, row.processed_at = InboxStatus.FAILED, now
            batch.fail(
                stream=one.event_type,
                key=str(row.event_id),
                label=one.event_type,
                message=one.retry,
                inbox_id=str(row.id),
            )
            result.failed += 1
        else:
            result.retrying += 1
        return
    if one.failure is not None:
        if repo.take(one.row_id, InboxStatus.FAILED, now):
            row = repo.get(one.row_id)
            if row is not None:
                row.error = one.failure[0]
            batch.fail(
                stream=one.event_type,
                key=str(one.row_id),
                label=one.event_type,
                message=one.failure[0],
                fix=one.failure[1],
                inbox_id=str(one.row_id),
            )
            result.failed += 1
        return
    if one.item is None or not repo.take(one.row_id, InboxStatus.PROCESSED, now):
        return  # another job processed it first: exactly one effect
    before = batch.read.failed
    upsert_safely(session, ingest, [one.item], batch, one.event_type)
    if batch.read.failed > before:
        row = repo.get(one.row_id)
        if row is not None:
            row.status = InboxStatus.FAILED
            row.error = batch.samples[-1]["message"] if batch.samples else None
        result.failed += 1
    else:
        result.processed += 1


def _describe(by_type: dict[str, Batch]) -> str:
    """The batch per kind of event, merged where two types read the same."""
    by_label: dict[str, Batch] = {}
    for event_type, batch in by_type.items():
        by_label.setdefault(event_label(event_type), Batch()).add(batch)
    return outcome.describe(by_label)


def _write_log(
    session: Session, integration: Integration, name: str, result: Outcome
) -> uuid.UUID:
    total = Batch()
    for batch in result.by_type.values():
        total.add(batch)
    sync_log = start_log(
        session,
        integration.company_id,
        provider=integration.provider,
        integration_id=integration.id,
        kind="webhook",
        trigger="webhook",
    )
    count = result.processed + result.failed
    events = "event" if count == 1 else "events"
    status = SyncStatus.PARTIAL if result.failed else SyncStatus.SUCCESS
    if result.failed and not result.processed:
        status = SyncStatus.FAILED
    finish_log(
        sync_log,
        status=status,
        message=f"{count} {events} from {name}. {_describe(result.by_type)}",
        fix="Open the problems below: Retry or Skip each one."
        if result.failed
        else None,
        error_kind="data" if result.failed else None,
        errors=total.samples,
        **total.log_counts(),
    )
    sync_log.details = {
        "events": {
            kind: {
                "read": b.read.as_dict(),
                "entities": {e: c.as_dict() for e, c in b.entities.items()},
            }
            for kind, b in result.by_type.items()
        }
    }
    session.flush()
    return sync_log.id


def _needs_reconnect(
    db: Database, company_id: uuid.UUID, integration_id: uuid.UUID, exc: Exception
) -> None:
    message = (
        exc.message
        if isinstance(exc, ProviderError | VaultError)
        else "The connection was refused."
    )
    with db.transaction(company_id) as session:
        integration = session.get(Integration, integration_id)
        if integration is not None:
            outcome.mark_needs_reconnect(
                session,
                integration,
                f"{message} Webhooks wait until you reconnect.",
            )
