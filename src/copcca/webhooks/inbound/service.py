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
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.connectors.base import InboundEvent, WebhookAck, WebhookReceiver
from copcca.connectors.errors import DataError, WebhookRejected
from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.db.session import on_commit
from copcca.errors import CopccaError, NotFound
from copcca.integrations.credentials import full_config
from copcca.jobs.queue import huey
from copcca.models.integrations import Integration, WebhookInbox
from copcca.runtime import Runtime
from copcca.security.signatures import constant_time_equal
from copcca.webhooks.inbound import refusals, tokens
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
        if match is not None:
            config = full_config(runtime.vault, match)
            return Target(match.id, company_id, config, receiver)
        # An old or mistyped address of a company that does use this provider:
        # worth a line in its Sync Logs (the answer stays the same 404).
        noted = candidates[0].id if len(candidates) == 1 else None
    if candidates:
        refusals.note_now(
            runtime,
            company_id,
            noted,
            provider,
            refusals.wrong_address(provider),
            size=0,
        )
    raise missing


def receive(runtime: Runtime, delivery: Delivery) -> Received:
    """Verify, store and acknowledge one delivery. Raises ``NotFound``,
    ``WebhookUnauthorized`` or a database error (the route answers 503)."""
    target = find_target(runtime, delivery.provider, delivery.token)
    check_delivery(runtime, target, delivery)
    try:
        events = target.receiver.parse_webhook(delivery.body, delivery.headers)
        unreadable: str | None = None
    except (ValueError, DataError) as exc:
        events, unreadable = [], _error_words(exc)
    stored = duplicates = 0
    with runtime.db.transaction(target.company_id) as session:
        repo = InboxRepository(session, target.company_id)
        rows = [inbox_row(target, delivery, e) for e in events]
        if unreadable is not None:
            rows.append(_unreadable_row(target, delivery, unreadable))
        for values in rows:
            if repo.insert_once(values):
                stored += 1
            else:
                duplicates += 1
        if unreadable is not None and stored:
            refusals.note(
                session,
                target.company_id,
                target.integration_id,
                delivery.provider,
                refusals.unreadable(delivery.provider, unreadable),
                size=len(delivery.body),
            )
        if stored and events:
            process_after_commit(session, target.company_id, target.integration_id)
    return Received(target.receiver.webhook_ack(events), stored, duplicates)


def check_delivery(runtime: Runtime, target: Target, delivery: Delivery) -> None:
    """The source address (for rails with an allowlist) and the signature
    over the raw bytes. A refusal is logged for security and, in words, in
    the company's Sync Logs, then raised as ``WebhookUnauthorized`` (401)."""
    if not _source_allowed(target, delivery.client_ip):
        _reject(
            runtime,
            target,
            delivery,
            "source address not allowed",
            refusals.outside_allowlist(delivery.provider, delivery.client_ip),
        )
    try:
        target.receiver.verify_webhook(target.config, delivery.body, delivery.headers)
    except WebhookRejected as exc:
        _reject(
            runtime,
            target,
            delivery,
            exc.reason,
            refusals.bad_signature(delivery.provider),
        )


def _source_allowed(target: Target, client_ip: str | None) -> bool:
    allowed = target.receiver.allowed_sources(target.config)
    if allowed is None:
        return True
    try:
        ip = ipaddress.ip_address(client_ip or "")
        return any(ip in ipaddress.ip_network(net, strict=False) for net in allowed)
    except ValueError:
        return False


def _reject(
    runtime: Runtime,
    target: Target,
    delivery: Delivery,
    reason: str,
    refusal: refusals.Refusal,
) -> NoReturn:
    # Nothing is stored (W1): the security log and one plain Sync Logs line.
    security_log.warning(
        "webhook rejected: provider=%s integration=%s ip=%s bytes=%d reason=%s",
        delivery.provider,
        target.integration_id,
        delivery.client_ip,
        len(delivery.body),
        reason,
    )
    refusals.note_now(
        runtime,
        target.company_id,
        target.integration_id,
        delivery.provider,
        refusal,
        size=len(delivery.body),
    )
    raise WebhookUnauthorized(
        "This delivery could not be verified.",
        fix="Check the signing secret saved for this system.",
    )


def _error_words(exc: Exception) -> str:
    """Why a body could not be read, without quoting any of it (it may hold
    a phone number or a name: these words reach the Sync Logs)."""
    if isinstance(exc, DataError):
        return exc.message[:500]
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} at character {exc.pos}"
    return "its fields have values we cannot use"


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with a delivery: credentials dropped, each cut short."""
    return {
        k: v[:MAX_HEADER_CHARS] for k, v in headers.items() if k not in DROP_HEADERS
    }


def inbox_row(
    target: Target,
    delivery: Delivery,
    event: InboundEvent,
    *,
    row_id: uuid.UUID | None = None,
    received_at: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``webhook_inbox`` values for one verified event: pending, or
    ignored for a type the connector does not use (W10). Callers storing
    many rows at once pass the id, time and kept headers they share."""
    known = target.receiver.handles(event.type)
    return {
        "id": row_id or uuid.uuid4(),
        "integration_id": target.integration_id,
        "provider": delivery.provider,
        "event_id": event.event_id[:255],
        "event_type": event.type[:100],
        "received_at": received_at or utcnow(),
        "headers": kept_headers(delivery.headers) if headers is None else headers,
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
        "headers": kept_headers(delivery.headers),
        "body": delivery.body,
        "status": InboxStatus.FAILED,
        "attempts": 0,
        "error": f"The delivery was authentic but could not be read: {error}",
    }


def process_after_commit(
    session: Session, company_id: uuid.UUID, integration_id: uuid.UUID
) -> None:
    """Have the inbox job process this integration once ``session`` commits."""
    on_commit(session, lambda: enqueue_processing(company_id, integration_id))


def enqueue_processing(
    company_id: uuid.UUID, integration_id: uuid.UUID, *, delay: float | None = None
) -> None:
    """Queue the inbox job for rows already committed, ``delay`` seconds
    from now if given (a job that cannot start before then sees every row
    committed meanwhile: one job for many deliveries)."""
    from copcca.webhooks.inbound.tasks import process_inbox_job

    if delay is None or huey.immediate:
        process_inbox_job(str(company_id), str(integration_id))
    else:
        process_inbox_job.schedule(
            args=(str(company_id), str(integration_id)), delay=delay
        )


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
        process_after_commit(session, company_id, integration_id)


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
        process_after_commit(session, company_id, integration_id)
    return changed


def skip_event(session: Session, company_id: uuid.UUID, row_id: uuid.UUID) -> bool:
    """Leave a failed event out for good (it is kept, marked skipped)."""
    row = InboxRepository(session, company_id).get(row_id)
    if row is None or row.status not in (InboxStatus.FAILED, InboxStatus.PENDING):
        return False
    row.status = InboxStatus.SKIPPED
    return True
