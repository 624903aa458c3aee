"""The sync-run ledger: request, claim, keep, requeue and finish runs.

At most one run per integration waits and at most one runs (J6): both are
partial unique indexes on ``sync_runs``, so the database decides, whatever
process or machine asks. A claim sets a lease and a claim token; every page
the engine commits first renews the lease *with that token* (a fence), so a
worker that was presumed dead can never write after another took over.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.db.session import Database, on_commit
from copcca.models.integrations import Integration, IntegrationStatus, SyncLog
from copcca.models.sync import RunStatus, SyncRun
from copcca.sync.logs import start_log

QUEUED_ONLY = text("status = 'queued'")


class LostClaim(Exception):
    """Another worker took this run over (our lease ran out): stop writing."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SyncRunRepository(TenantRepository[SyncRun]):
    model = SyncRun
    noun = "sync"

    def waiting(self, integration_id: uuid.UUID) -> SyncRun | None:
        return self._one(integration_id, RunStatus.QUEUED)

    def running(self, integration_id: uuid.UUID) -> SyncRun | None:
        return self._one(integration_id, RunStatus.RUNNING)

    def _one(self, integration_id: uuid.UUID, status: RunStatus) -> SyncRun | None:
        stmt = self.select().where(
            SyncRun.integration_id == integration_id, SyncRun.status == status.value
        )
        row: SyncRun | None = self.session.scalars(stmt).first()
        return row

    def latest(self, integration_id: uuid.UUID) -> SyncRun | None:
        stmt = (
            self.select()
            .where(SyncRun.integration_id == integration_id)
            .order_by(SyncRun.requested_at.desc())
            .limit(1)
        )
        row: SyncRun | None = self.session.scalars(stmt).first()
        return row

    def by_log(self, log_id: uuid.UUID) -> SyncRun | None:
        row: SyncRun | None = self.session.scalars(
            self.select().where(SyncRun.log_id == log_id)
        ).first()
        return row


@dataclass(frozen=True)
class RunRequest:
    run: SyncRun
    created: bool  # False: a sync was already waiting and now covers this


def request_run(
    session: Session,
    company_id: uuid.UUID,
    integration_id: uuid.UUID,
    *,
    trigger: str,
    full_resync: bool = False,
    requested_by: uuid.UUID | None = None,
    at: datetime | None = None,
) -> RunRequest:
    """Ask for a sync; at most one waits per integration (J6).

    If one already waits, it covers this request: a person asking (not the
    scheduler) brings it forward to now. The job is enqueued after commit.
    """
    now = utcnow()
    due = at or now
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "company_id": company_id,
        "integration_id": integration_id,
        "status": RunStatus.QUEUED.value,
        "trigger": trigger,
        "full_resync": full_resync,
        "requested_by": requested_by,
        "requested_at": now,
        "next_attempt_at": due,
        "enqueued_at": now,
        "attempts": 0,
    }
    dialect = postgresql if _is_postgres(session) else sqlite
    stmt = (
        dialect.insert(SyncRun)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["integration_id"], index_where=QUEUED_ONLY
        )
        .returning(SyncRun.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT inserts.
    created = session.execute(stmt).scalar_one_or_none() is not None
    repo = SyncRunRepository(session, company_id)
    run = repo.waiting(integration_id)
    if run is None:  # it was claimed between our insert and this read
        run = repo.get_or_404(values["id"]) if created else _raced(session, values)
    if not created:
        if trigger != "schedule" and run.next_attempt_at > due:
            run.next_attempt_at = due
        run.full_resync = run.full_resync or full_resync
        run.enqueued_at = now
    deliver_after_commit(session, run)
    return RunRequest(run, created)


def _raced(session: Session, values: dict[str, Any]) -> SyncRun:
    # The waiting run was claimed just now; ours is needed after it.
    run = SyncRun(**values)
    session.add(run)
    session.flush()
    return run


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def deliver_after_commit(session: Session, run: SyncRun) -> None:
    company_id, run_id, eta = run.company_id, run.id, run.next_attempt_at

    def deliver() -> None:
        from copcca.sync.tasks import deliver_run

        deliver_run(company_id, run_id, eta)

    on_commit(session, deliver)


@dataclass(frozen=True)
class Claim:
    run_id: uuid.UUID
    company_id: uuid.UUID
    integration_id: uuid.UUID
    token: str
    attempt: int
    log_id: uuid.UUID
    full_resync: bool
    trigger: str


def claim(
    db: Database,
    company_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    worker: str,
    lease: timedelta,
) -> Claim | None:
    """Take a waiting run, or ``None`` (gone, not due, or another is running;
    the running one delivers this one when it finishes)."""
    try:
        with db.transaction(company_id) as session:
            return _claim(session, company_id, run_id, worker, lease)
    except IntegrityError:
        return None  # uq_sync_runs_one_running: one is running already


def _claim(
    session: Session,
    company_id: uuid.UUID,
    run_id: uuid.UUID,
    worker: str,
    lease: timedelta,
) -> Claim | None:
    run = session.scalars(
        select(SyncRun)
        .where(SyncRun.company_id == company_id, SyncRun.id == run_id)
        .with_for_update()
    ).first()
    now = utcnow()
    if run is None or run.status != RunStatus.QUEUED:
        return None
    if run.next_attempt_at > now + timedelta(seconds=2):
        return None  # an early delivery; the scheduled one comes on time
    integration = session.get(Integration, run.integration_id)
    if integration is None or integration.status == IntegrationStatus.PAUSED:
        session.delete(run)  # nothing syncs while paused
        return None
    if run.log_id is None:
        log = start_log(
            session,
            company_id,
            provider=integration.provider,
            integration_id=integration.id,
            trigger=run.trigger,
            message="Starting…",
        )
        session.flush()
        run.log_id = log.id
    run.status = RunStatus.RUNNING.value
    run.worker = worker
    run.claim_token = uuid.uuid4().hex
    run.lease_until = now + lease
    run.attempts += 1
    run.started_at = run.started_at or now
    session.flush()
    return Claim(
        run.id,
        company_id,
        run.integration_id,
        run.claim_token,
        run.attempts,
        run.log_id,
        run.full_resync,
        run.trigger,
    )


_RUNS: Any = SyncRun.__table__
# Built once: a sync renews its lease on every page.
_KEEP = (
    update(_RUNS)
    .where(
        _RUNS.c.company_id == bindparam("b_company_id"),
        _RUNS.c.id == bindparam("b_run_id"),
        _RUNS.c.claim_token == bindparam("b_token"),
        _RUNS.c.status == RunStatus.RUNNING.value,
    )
    .values(lease_until=bindparam("b_until"))
)


def keep(session: Session, claim: Claim, lease: timedelta) -> None:
    """Renew the lease inside a page's transaction; the fence against a
    worker that lost its run (raises ``LostClaim``)."""
    result = session.connection().execute(
        _KEEP,
        {
            "b_company_id": claim.company_id,
            "b_run_id": claim.run_id,
            "b_token": claim.token,
            "b_until": utcnow() + lease,
        },
    )
    if result.rowcount != 1:
        raise LostClaim(str(claim.run_id))


def owned(session: Session, claim: Claim) -> SyncRun:
    """The claimed run row, locked, or ``LostClaim``."""
    run = session.scalars(
        select(SyncRun)
        .where(SyncRun.company_id == claim.company_id, SyncRun.id == claim.run_id)
        .with_for_update()
    ).first()
    if run is None or run.claim_token != claim.token:
        raise LostClaim(str(claim.run_id))
    found: SyncRun = run
    return found


def requeue(session: Session, run: SyncRun, at: datetime, reason: str) -> None:
    """Put a run back to wait until ``at``, resuming from its saved cursors.

    A run that was requested meanwhile is folded into this one, so at most
    one still waits.
    """
    session.execute(
        delete(SyncRun).where(
            SyncRun.company_id == run.company_id,
            SyncRun.integration_id == run.integration_id,
            SyncRun.status == RunStatus.QUEUED.value,
            SyncRun.id != run.id,
        )
    )
    session.flush()
    run.status = RunStatus.QUEUED.value
    run.next_attempt_at = at
    run.enqueued_at = utcnow()
    run.worker = None
    run.claim_token = None
    run.lease_until = None
    run.last_error = reason
    deliver_after_commit(session, run)


def finish(
    session: Session, run: SyncRun, status: RunStatus, error: str | None
) -> None:
    """Close a run; deliver the one waiting behind it, if any."""
    run.status = status.value
    run.finished_at = utcnow()
    run.claim_token = None
    run.lease_until = None
    run.last_error = error
    session.flush()
    waiting = SyncRunRepository(session, run.company_id).waiting(run.integration_id)
    if waiting is not None:
        deliver_after_commit(session, waiting)


def log_of(session: Session, run: SyncRun) -> SyncLog | None:
    return session.get(SyncLog, run.log_id) if run.log_id else None
