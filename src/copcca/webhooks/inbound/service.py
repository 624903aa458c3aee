"""Receive a delivery: find the integration by its token, verify over the
raw bytes, store each event once, and hand processing to a job.

Nothing is written before the signature checks out (W1); the answer is
built only after the commit (W6); the same event stored twice is one row
(W7); event types the connector does not use are stored as ``ignored``
and acknowledged (W10). The size limit (W11) is enforced by the route
before any of this runs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.connectors.base import InboundEvent, WebhookAck, WebhookReceiver
from copcca.connectors.errors import DataError, WebhookRejected
from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.db.session import on_commit
from copcca.errors import CopccaError, NotFound
from copcca.integrations.credentials import full_config
from copcca.models.integrations import Integration, WebhookInbox
from copcca.runtime import Runtime
from copcca.security.signatures import constant_time_equal
from copcca.webhooks.inbound import tokens
from copcca.webhooks.inbound.repository import InboxRepository, InboxStatus

security_log = logging.getLogger("copcca.security")
log = logging.getLogger("copcca.webhooks")

DROP_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
MAX_HEADER_CHARS = 2000


class WebhookUnauthorized(CopccaError):
    status_code = 401
    code = "webhook_rejected"


@dataclass(frozen=True)
class Delivery:
    provider: str
    token: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    client_ip: str | None = None


@dataclass(frozen=True)
class Received:
    ack: WebhookAck
    stored: int
    duplicates: int


@dataclass(frozen=True)
class Target:
    integration_id: uuid.UUID
    company_id: uuid.UUID
    config: dict[str, Any]
    receiver: WebhookReceiver


def receiver_for(provider: str) -> WebhookReceiver:
    info = get_provider(provider)
    cls = info.connector
    if cls is None or not issubclass(cls, WebhookReceiver):
        raise NotFound(
            f"This address does not take deliveries from {info.name}.",
            fix="Copy the webhook address from the system's page in Connect Systems.",
        )
    receiver: WebhookReceiver = cls()
    return receiver


def find_target(runtime: Runtime, provider: str, token: str) -> Target:
    """The integration a callback token names, or the same 404 for any miss
    (unknown provider, malformed token, wrong company, wrong secret)."""
    missing = NotFound("There is nothing at this address.")
    company_id = tokens.company_of(token)
    if company_id is None:
        raise missing
    receiver = receiver_for(provider)
    with runtime.db.transaction(company_id, write=False) as session:
        candidates = session.scalars(
            select(Integration).where(
                Integration.company_id == company_id,
                Integration.provider == provider,
                Integration.callback_token.is_not(None),
            )
        ).all()
        match = None
        for integration in candidates:  # every candidate, constant time each
            if constant_time_equal(integration.callback_token or "", token):
                match = integration
        if match is None:
            raise missing
        config = full_config(runtime.vault, match)
        return Target(match.id, company_id, config, receiver)


def receive(runtime: Runtime, delivery: Delivery) -> Received:
    """Verify, store and acknowledge one delivery. Raises ``NotFound``,
    ``WebhookUnauthorized`` or a database error (the route answers 503)."""
    target = find_target(runtime, delivery.provider, delivery.token)
    _check_source(target, delivery)
    try:
        target.receiver.verify_webhook(target.config, delivery.body, delivery.headers)
    except WebhookRejected as exc:
        _reject(target, delivery, exc.reason)
    try:
        events = target.receiver.parse_webhook(delivery.body, delivery.headers)
        unreadable: str | None = None
    except (ValueError, DataError) as exc:
        events, unreadable = [], str(exc)[:500] or type(exc).__name__
    stored = duplicates = 0
    with runtime.db.transaction(target.company_id) as session:
        repo = InboxRepository(session, target.company_id)
        rows = [_row(target, delivery, e) for e in events]
        if unreadable is not None:
            rows.append(_unreadable_row(target, delivery, unreadable))
        for values in rows:
            if repo.insert_once(values):
                stored += 1
            else:
                duplicates += 1
        if stored:
            _process_after_commit(session, target.company_id, target.integration_id)
    return Received(target.receiver.webhook_ack(events), stored, duplicates)


def _check_source(target: Target, delivery: Delivery) -> None:
    allowed = target.receiver.allowed_sources(target.config)
    if allowed is None:
        return
    try:
        ip = ipaddress.ip_address(delivery.client_ip or "")
        if any(ip in ipaddress.ip_network(net, strict=False) for net in allowed):
            return
    except ValueError:
        pass
    _reject(target, delivery, "source address not allowed")


def _reject(target: Target, delivery: Delivery, reason: str) -> None:
    # The security log is the only trace: nothing is stored (W1).
    security_log.warning(
        "webhook rejected: provider=%s integration=%s ip=%s bytes=%d reason=%s",
        delivery.provider,
        target.integration_id,
        delivery.client_ip,
        len(delivery.body),
        reason,
    )
    raise WebhookUnauthorized(
        "This delivery could not be verified.",
        fix="Check the signing secret saved for this system.",
    )


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v[:MAX_HEADER_CHARS] for k, v in headers.items() if k not in DROP_HEADERS
    }


def _row(target: Target, delivery: Delivery, event: InboundEvent) -> dict[str, Any]:
    known = target.receiver.handles(event.type)
    return {
        "id": uuid.uuid4(),
        "integration_id": target.integration_id,
        "provider": delivery.provider,
        "event_id": event.event_id[:255],
        "event_type": event.type[:100],
        "received_at": utcnow(),
        "headers": _kept_headers(delivery.headers),
        "body": delivery.body,
        "status": InboxStatus.PENDING if known else InboxStatus.IGNORED,
        "attempts": 0,
    }


def _unreadable_row(target: Target, delivery: Delivery, error: str) -> dict[str, Any]:
    digest = hashlib.sha256(delivery.body).hexdigest()[:40]
    return {
        "id": uuid.uuid4(),
        "integration_id": target.integration_id,
        "provider": delivery.provider,
        "event_id": f"unreadable:{digest}",
        "event_type": None,
        "received_at": utcnow(),
        "headers": _kept_headers(delivery.headers),
        "body": delivery.body,
        "status": InboxStatus.FAILED,
        "attempts": 0,
        "error": f"The delivery was authentic but could not be read: {error}",
    }


def _process_after_commit(
    session: Session, company_id: uuid.UUID, integration_id: uuid.UUID
) -> None:
    def enqueue() -> None:
        from copcca.webhooks.inbound.tasks import process_inbox_job

        process_inbox_job(str(company_id), str(integration_id))

    on_commit(session, enqueue)


def handshake(
    runtime: Runtime, provider: str, token: str, params: Mapping[str, str]
) -> str:
    """A provider's GET verification (WhatsApp ``hub.challenge``)."""
    target = find_target(runtime, provider, token)
    try:
        return target.receiver.webhook_handshake(target.config, params)
    except WebhookRejected as exc:
        security_log.warning(
            "webhook handshake refused: provider=%s integration=%s reason=%s",
            provider,
            target.integration_id,
            exc.reason,
        )
        raise WebhookUnauthorized("This verification request was refused.") from exc


def retry_delay(attempts: int) -> timedelta:
    """When a pending event is tried again: 2, 4, 8, 16... minutes after it
    arrived (a job lost before its first try is re-sent after 2)."""
    return timedelta(minutes=2 ** min(attempts + 1, 10))


def redeliver_pending(session: Session, company_id: uuid.UUID, now: datetime) -> None:
    """Scheduler step: pending events whose retry time came get a job."""
    due: set[uuid.UUID] = set()
    for row in InboxRepository(session, company_id).all_pending():
        if row.integration_id and row.received_at + retry_delay(row.attempts) <= now:
            due.add(row.integration_id)
    for integration_id in due:
        _process_after_commit(session, company_id, integration_id)


def retry_events(
    session: Session, company_id: uuid.UUID, row_ids: Sequence[uuid.UUID]
) -> int:
    """Put failed events back to be processed again now."""
    repo = InboxRepository(session, company_id)
    changed = 0
    integrations: set[uuid.UUID] = set()
    for row_id in row_ids:
        row: WebhookInbox | None = repo.get(row_id)
        if row is None or row.status not in (InboxStatus.FAILED, InboxStatus.SKIPPED):
            continue
        row.status, row.attempts, row.error = InboxStatus.PENDING, 0, None
        changed += 1
        if row.integration_id:
            integrations.add(row.integration_id)
    for integration_id in integrations:
        _process_after_commit(session, company_id, integration_id)
    return changed


def skip_event(session: Session, company_id: uuid.UUID, row_id: uuid.UUID) -> bool:
    """Leave a failed event out for good (it is kept, marked skipped)."""
    row = InboxRepository(session, company_id).get(row_id)
    if row is None or row.status not in (InboxStatus.FAILED, InboxStatus.PENDING):
        return False
    row.status = InboxStatus.SKIPPED
    return True
