"""Counts for the Overview and ``GET /api/v1/integration-stats``, and each
connection's health from its real sync outcomes with its one-click fix:
green (last run fine), orange (partial failures, throttling, a retry
waiting, access ending soon), red (failing or needs reconnect)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.integrations.service import list_integrations
from copcca.models.integrations import (
    Health,
    Integration,
    IntegrationStatus,
    SyncLog,
    SyncStatus,
)
from copcca.security.principal import Principal
from copcca.sync.logs import SyncLogRepository

TOKEN_WARNING = timedelta(days=7)


@dataclass
class IntegrationStats:
    total: int
    connected: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    health: dict[str, int]
    runs_24h: dict[str, int]
    last_sync_at: datetime | None
    attention: list[Attention] = field(default_factory=list)


@dataclass(frozen=True)
class Attention:
    """A connection that needs a look, why, and the one click that fixes it."""

    integration: Integration
    colour: str
    reason: str
    action: str  # the button's words
    href: str
    post_action: str | None = None  # submit this system-page action as a form


def _expiring(integration: Integration, now: datetime) -> bool:
    ends = integration.token_expires_at
    return ends is not None and ends - now <= TOKEN_WARNING


def health_of(integration: Integration, now: datetime | None = None) -> str:
    """Green/orange/red/grey from the connection's real outcomes."""
    if integration.status in (
        IntegrationStatus.NEEDS_RECONNECT,
        IntegrationStatus.ERROR,
    ):
        return Health.RED.value
    if integration.status == IntegrationStatus.PAUSED:
        return Health.GREY.value
    if _expiring(integration, now or utcnow()) and integration.health != Health.RED:
        return Health.ORANGE.value
    return integration.health or Health.GREY.value


def attention_of(
    integration: Integration, last_log: SyncLog | None, now: datetime | None = None
) -> Attention | None:
    """Why a red or orange connection needs a look, with its fix."""
    now = now or utcnow()
    colour = health_of(integration, now)
    if colour not in (Health.RED, Health.ORANGE):
        return None
    system = f"/app/integrations/systems/{integration.id}"
    name = get_provider(integration.provider).name
    reason = integration.health_reason or "Check this connection."

    def fix(action: str, href: str, post: str | None = None) -> Attention:
        return Attention(integration, colour, reason, action, href, post)

    if integration.status == IntegrationStatus.NEEDS_RECONNECT:
        return fix(f"Reconnect {name}", f"{system}#reconnect")
    if colour == Health.ORANGE and _expiring(integration, now):
        assert integration.token_expires_at is not None
        when = integration.token_expires_at.date().isoformat()
        reason = f"Access to {name} ends on {when} unless you reconnect."
        return fix(f"Reconnect {name}", f"{system}#reconnect")
    if integration.status == IntegrationStatus.ERROR:
        return fix("Retry now", system, "sync")
    if last_log is not None and last_log.status == SyncStatus.RUNNING:
        return fix("Try now", system, "sync")  # a retry is waiting
    if last_log is not None and last_log.failed_count:
        return fix("See the problems", f"/app/integrations/logs/{last_log.id}")
    target = f"/app/integrations/logs/{last_log.id}" if last_log else system
    return fix("See the log", target)


def latest_logs(
    session: Session, integrations: list[Integration]
) -> dict[Any, SyncLog]:
    """The most recent sync or webhook log of each connection."""
    found: dict[Any, SyncLog] = {}
    for integration in integrations:
        row = session.scalars(
            select(SyncLog)
            .where(
                SyncLog.company_id == integration.company_id,
                SyncLog.integration_id == integration.id,
                SyncLog.kind.in_(["sync", "webhook"]),
            )
            .order_by(SyncLog.started_at.desc())
            .limit(1)
        ).first()
        if row is not None:
            found[integration.id] = row
    return found


def compute(session: Session, actor: Principal) -> IntegrationStats:
    integrations = list(list_integrations(session, actor))
    statuses = Counter(i.status for i in integrations)
    health = Counter(health_of(i) for i in integrations)
    for colour in Health:
        health.setdefault(colour.value, 0)
    logs = SyncLogRepository(session, actor.company_id)
    last = max((i.last_sync_at for i in integrations if i.last_sync_at), default=None)
    now = utcnow()
    needy = [
        i for i in integrations if health_of(i, now) in (Health.RED, Health.ORANGE)
    ]
    latest = latest_logs(session, needy)
    attention = [attention_of(i, latest.get(i.id), now) for i in needy]
    return IntegrationStats(
        total=len(integrations),
        connected=sum(
            1 for i in integrations if i.status not in (IntegrationStatus.PAUSED,)
        ),
        by_status=dict(statuses),
        by_category=dict(Counter(i.category for i in integrations)),
        health=dict(health),
        runs_24h=logs.counts_since(utcnow() - timedelta(hours=24)),
        last_sync_at=last,
        attention=[a for a in attention if a is not None],
    )
