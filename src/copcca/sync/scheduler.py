"""The periodic scheduler (one per deployment, run every minute).

Per company, in one short transaction each: resume runs whose worker
stopped (lease run out, or a dead process on this machine), start syncs
that are due by frequency, re-deliver waiting runs whose job was lost, and
re-deliver webhooks stored but not processed. Every step is safe to repeat.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.errors import NotFound
from copcca.models.integrations import (
    Frequency,
    Integration,
    IntegrationStatus,
    SyncLog,
)
from copcca.models.sync import RunStatus, SyncRun
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sync import outcome, runs
from copcca.sync.logs import fail_log

log = logging.getLogger("copcca.sync")

LOST_AFTER = timedelta(minutes=5)  # a waiting run overdue this long is re-sent
STALLED = "The sync stopped in the middle (the worker went away)."


def tick(
    runtime: Runtime, *, now: datetime | None = None, schedule: bool = True
) -> None:
    """One pass over every company."""
    now = now or utcnow()
    with runtime.db.transaction(write=False) as session:
        companies = list(session.scalars(select(Company.id)))
    for company_id in companies:
        try:
            with runtime.db.transaction(company_id) as session:
                tick_company(
                    session,
                    company_id,
                    now=now,
                    max_attempts=runtime.settings.sync_max_attempts,
                    schedule=schedule,
                )
        except Exception:  # one company's trouble must not stop the others
            log.exception("scheduler failed for company %s", company_id)


def tick_company(
    session: Session,
    company_id: uuid.UUID,
    *,
    now: datetime,
    max_attempts: int,
    schedule: bool = True,
    is_dead: Callable[[str], bool] | None = None,
) -> None:
    recover_stalled(session, company_id, now, max_attempts, is_dead or dead_here)
    if schedule:
        start_due(session, company_id, now)
        redeliver_lost(session, company_id, now)
        from copcca.webhooks.inbound.service import redeliver_pending

        redeliver_pending(session, company_id, now)


def dead_here(worker: str) -> bool:
    """True when ``worker`` ("host:pid") ran on this machine and has exited."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_stalled(
    session: Session,
    company_id: uuid.UUID,
    now: datetime,
    max_attempts: int,
    is_dead: Callable[[str], bool],
) -> list[SyncRun]:
    """Running runs whose worker is gone go back to wait (resuming from the
    last committed cursor), or end failed after the last attempt (J5)."""
    stmt = select(SyncRun).where(
        SyncRun.company_id == company_id,
        SyncRun.status == RunStatus.RUNNING.value,
    )
    stalled = [
        run
        for run in session.scalars(stmt.with_for_update())
        if (run.lease_until is not None and run.lease_until < now)
        or (run.worker is not None and is_dead(run.worker))
    ]
    for run in stalled:
        log.warning("resuming stalled sync %s (worker %s)", run.id, run.worker)
        sync_log = runs.log_of(session, run)
        integration = session.get(Integration, run.integration_id)
        if run.attempts >= max_attempts:
            reason = f"{STALLED} We tried {run.attempts} times, then stopped."
            fix = "Press Retry. If it stops again, contact support with this log."
            runs.finish(session, run, RunStatus.FAILED, reason)
            if sync_log is not None:
                fail_log(sync_log, message=reason, fix=fix, error_kind="internal")
            if integration is not None:
                outcome.mark_failed(session, integration, f"{reason} {fix}")
            continue
        reason = f"{STALLED} Continuing from where it stopped."
        runs.requeue(session, run, min(now, utcnow()), reason)
        if sync_log is not None:
            sync_log.message = reason
    return stalled


def _available(provider: str) -> bool:
    """A live connector that pulls (payment rails only receive callbacks)."""
    try:
        info = get_provider(provider)
        return info.available and info.pulls
    except NotFound:
        return False


def start_due(
    session: Session, company_id: uuid.UUID, now: datetime
) -> list[Integration]:
    """Request a sync for every integration whose next sync time has come."""
    stmt = select(Integration).where(
        Integration.company_id == company_id,
        Integration.frequency != Frequency.MANUAL.value,
        Integration.status.not_in(
            [IntegrationStatus.PAUSED.value, IntegrationStatus.NEEDS_RECONNECT.value]
        ),
        Integration.next_sync_at.is_not(None),
        Integration.next_sync_at <= now,
    )
    due = [i for i in session.scalars(stmt) if _available(i.provider)]
    for integration in due:
        runs.request_run(
            session, company_id, integration.id, trigger="schedule", at=now
        )
        # The run's outcome sets the time after it; this keeps a slow run
        # from being requested again every minute meanwhile.
        integration.next_sync_at = outcome.next_sync(integration.frequency, now)
    return due


def redeliver_lost(session: Session, company_id: uuid.UUID, now: datetime) -> None:
    """A waiting run long overdue lost its job (e.g. a crash between commit
    and enqueue): send it again. A duplicate delivery claims nothing."""
    stmt = select(SyncRun).where(
        SyncRun.company_id == company_id,
        SyncRun.status == RunStatus.QUEUED.value,
        SyncRun.next_attempt_at <= now - LOST_AFTER,
        or_(SyncRun.enqueued_at.is_(None), SyncRun.enqueued_at <= now - LOST_AFTER),
    )
    for run in session.scalars(stmt):
        run.enqueued_at = now
        runs.deliver_after_commit(session, run)


def latest_log(session: Session, integration_id: uuid.UUID) -> SyncLog | None:
    row: SyncLog | None = session.scalars(
        select(SyncLog)
        .where(SyncLog.integration_id == integration_id)
        .order_by(SyncLog.started_at.desc())
        .limit(1)
    ).first()
    return row
