"""Counts for the Overview and ``GET /api/v1/integration-stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.integrations.service import list_integrations
from copcca.models.integrations import Health, Integration, IntegrationStatus
from copcca.security.principal import Principal
from copcca.sync.logs import SyncLogRepository


@dataclass
class IntegrationStats:
    total: int
    connected: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    health: dict[str, int]
    runs_24h: dict[str, int]
    last_sync_at: datetime | None
    attention: list[Integration] = field(default_factory=list)


def health_of(integration: Integration) -> str:
    """Green/orange/red/grey from what we know of the connection."""
    if integration.status in (
        IntegrationStatus.NEEDS_RECONNECT,
        IntegrationStatus.ERROR,
    ):
        return Health.RED.value
    if integration.status == IntegrationStatus.PAUSED:
        return Health.GREY.value
    return integration.health or Health.GREY.value


def compute(session: Session, actor: Principal) -> IntegrationStats:
    integrations = list(list_integrations(session, actor))
    statuses = Counter(i.status for i in integrations)
    health = Counter(health_of(i) for i in integrations)
    for colour in Health:
        health.setdefault(colour.value, 0)
    logs = SyncLogRepository(session, actor.company_id)
    last = max((i.last_sync_at for i in integrations if i.last_sync_at), default=None)
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
        attention=[
            i for i in integrations if health_of(i) in (Health.RED, Health.ORANGE)
        ],
    )
