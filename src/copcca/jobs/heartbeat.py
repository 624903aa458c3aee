"""Worker health: a periodic job records that a worker ran it; the Overview
shows how long ago that was."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from huey import crontab
from sqlalchemy import select

from copcca.db.base import utcnow
from copcca.db.session import Database
from copcca.jobs.queue import backend_name, huey
from copcca.models.system import WorkerHeartbeat

STALE_AFTER = timedelta(minutes=3)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(db: Database, *, at: datetime | None = None) -> None:
    """Record that this worker process is alive and running jobs."""
    now = at or utcnow()
    with db.transaction() as session:
        row = session.get(WorkerHeartbeat, worker_id())
        if row is None:
            row = WorkerHeartbeat(
                worker=worker_id(),
                hostname=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
            )
            session.add(row)
        row.last_seen_at = now
        row.beats = (row.beats or 0) + 1


@huey.periodic_task(crontab(minute="*"), name="copcca.heartbeat")
def heartbeat() -> None:
    from copcca.runtime import get_runtime

    beat(get_runtime().db)


@dataclass(frozen=True)
class WorkerHealth:
    state: str  # ok | stale | never
    last_seen_at: datetime | None
    workers: int
    backend: str

    @property
    def seconds_ago(self) -> int | None:
        if self.last_seen_at is None:
            return None
        return max(0, int((utcnow() - self.last_seen_at).total_seconds()))


def worker_health(db: Database) -> WorkerHealth:
    now = utcnow()
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen_at.desc())
        ).all()
    if not rows:
        return WorkerHealth("never", None, 0, backend_name())
    live = [r for r in rows if now - r.last_seen_at <= STALE_AFTER]
    state = "ok" if live else "stale"
    return WorkerHealth(state, rows[0].last_seen_at, len(live), backend_name())


@huey.on_startup(name="copcca.first_beat")
def first_beat() -> None:
    """Report in as soon as a worker thread starts, not a minute later."""
    from copcca.runtime import get_runtime

    beat(get_runtime().db)
