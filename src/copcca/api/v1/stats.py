"""Counts behind the Overview."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS
from copcca.integrations.stats import compute
from copcca.jobs.heartbeat import worker_health

router = APIRouter(tags=["stats"], responses=AUTH_ERRORS)


class WorkerOut(BaseModel):
    state: str
    last_seen_at: datetime | None
    workers: int
    backend: str


class StatsOut(BaseModel):
    total: int
    connected: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    health: dict[str, int]
    runs_24h: dict[str, int]
    last_sync_at: datetime | None
    worker: WorkerOut


@router.get("/integration-stats", response_model=StatsOut)
def integration_stats(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> StatsOut:
    """Connected systems by status, category and health; runs in the last day."""
    stats = compute(session, principal)
    worker = worker_health(runtime.db)
    return StatsOut(
        total=stats.total,
        connected=stats.connected,
        by_status=stats.by_status,
        by_category=stats.by_category,
        health=stats.health,
        runs_24h=stats.runs_24h,
        last_sync_at=stats.last_sync_at,
        worker=WorkerOut(
            state=worker.state,
            last_seen_at=worker.last_seen_at,
            workers=worker.workers,
            backend=worker.backend,
        ),
    )
