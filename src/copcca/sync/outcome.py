"""What a sync's outcome means for the connection: its status, health, the
next scheduled sync, and the plain sentence the shop owner reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from copcca import events
from copcca.db.base import utcnow
from copcca.models.integrations import (
    Frequency,
    Health,
    Integration,
    IntegrationStatus,
)
from copcca.sync.batch import Batch

INTERVALS = {
    Frequency.EVERY_15_MIN.value: timedelta(minutes=15),
    Frequency.HOURLY.value: timedelta(hours=1),
    Frequency.DAILY.value: timedelta(days=1),
    # Webhooks bring changes as they happen; an hourly sync catches any the
    # provider failed to deliver.
    Frequency.REALTIME.value: timedelta(hours=1),
}

ENTITY_WORDS = {
    "customers": "customers",
    "products": "products",
    "sales": "sales",
    "invoices": "invoices",
    "payments": "payments",
    "messages": "messages",
}


def next_sync(frequency: str, after: datetime) -> datetime | None:
    """When the scheduler should start the next sync (None: manual only)."""
    interval = INTERVALS.get(frequency)
    return after + interval if interval else None


def describe(streams: dict[str, Batch]) -> str:
    """One plain sentence per stream: what came in."""
    parts = []
    for name, batch in streams.items():
        read = batch.read
        if read.total == 0:
            parts.append(f"{name.capitalize()}: nothing new.")
            continue
        bits = [
            f"{read.created} new",
            f"{read.updated} updated",
            f"{read.unchanged} already up to date",
        ]
        if read.skipped:
            bits.append(f"{read.skipped} skipped")
        if read.failed:
            bits.append(f"{read.failed} could not be brought in")
        parts.append(f"{name.capitalize()}: {', '.join(bits)}.")
    return " ".join(parts) or "Nothing to sync: no data is chosen for this system."


def _set(integration: Integration, health: Health, reason: str | None) -> None:
    integration.health = health.value
    integration.health_reason = reason


def _connect(session: Session, integration: Integration) -> None:
    if integration.status in (IntegrationStatus.SAVED, IntegrationStatus.ERROR):
        first = integration.status == IntegrationStatus.SAVED
        integration.status = IntegrationStatus.CONNECTED.value
        if first:
            events.emit(
                session,
                integration.company_id,
                "integration.connected",
                entity="integration",
                entity_id=integration.id,
                data={"provider": integration.provider},
            )


def mark_finished(
    session: Session,
    integration: Integration,
    *,
    failed_records: int,
    failed_streams: list[str],
    throttled: int,
    name: str,
) -> None:
    """A run that reached its end (success or partial)."""
    now = utcnow()
    integration.last_sync_at = now
    integration.last_success_at = now
    integration.next_sync_at = next_sync(integration.frequency, now)
    _connect(session, integration)
    if failed_streams:
        _set(
            integration,
            Health.ORANGE,
            f"The last sync could not read {', '.join(failed_streams)} from {name}.",
        )
    elif failed_records:
        _set(
            integration,
            Health.ORANGE,
            f"{failed_records} records from {name} could not be brought in.",
        )
    elif throttled:
        _set(
            integration,
            Health.ORANGE,
            f"{name} asked us to slow down {throttled} times; everything synced, "
            "just slower.",
        )
    else:
        _set(integration, Health.GREEN, None)


def mark_retrying(integration: Integration, reason: str) -> None:
    integration.last_sync_at = utcnow()
    if integration.status != IntegrationStatus.NEEDS_RECONNECT:
        _set(integration, Health.ORANGE, reason)


def mark_failed(session: Session, integration: Integration, reason: str) -> None:
    now = utcnow()
    integration.last_sync_at = now
    integration.next_sync_at = next_sync(integration.frequency, now)
    if integration.status != IntegrationStatus.PAUSED:
        integration.status = IntegrationStatus.ERROR.value
    _set(integration, Health.RED, reason)
    _emit_failed(session, integration, reason)


def mark_needs_reconnect(
    session: Session, integration: Integration, reason: str
) -> None:
    integration.last_sync_at = utcnow()
    integration.next_sync_at = None
    integration.status = IntegrationStatus.NEEDS_RECONNECT.value
    _set(integration, Health.RED, reason)
    _emit_failed(session, integration, reason)


def _emit_failed(session: Session, integration: Integration, reason: str) -> None:
    events.emit(
        session,
        integration.company_id,
        "integration.failed",
        entity="integration",
        entity_id=integration.id,
        data={"provider": integration.provider, "reason": reason},
    )
