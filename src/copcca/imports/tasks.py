"""Background jobs of the Import Center.

Each job opens its tenant transaction (``tenant_task``) only to check the
import is still theirs to run; the rows themselves are worked after that
commit, one transaction per batch, so a crash loses at most one batch and a
rerun continues from the checkpoint (promise F6).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from huey import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.session import on_commit
from copcca.jobs.queue import huey, tenant_task
from copcca.models.imports import ImportJob
from copcca.models.tenancy import Company
from copcca.security.principal import Principal

PROGRESS_KEY = "copcca.import.progress:{}"


def _runtime() -> Any:
    from copcca.runtime import get_runtime

    return get_runtime()


def report_progress(job_id: str, done: int, total: int) -> None:
    huey.put(PROGRESS_KEY.format(job_id), json.dumps([done, total]))


def read_progress(job_id: uuid.UUID) -> tuple[int, int] | None:
    try:
        raw = huey.get(PROGRESS_KEY.format(job_id), peek=True)
    except Exception:  # the queue storage may be unreachable from a web node
        return None
    if not raw:
        return None
    done, total = json.loads(raw)
    return int(done), int(total)


@tenant_task()
def check_rows(session: Session, actor: Principal, job_id: str) -> None:
    """Dry-run every row of an import and record the plan and problems."""
    from copcca.imports import runner

    job = session.get(ImportJob, uuid.UUID(job_id))
    if job is None or job.company_id != actor.company_id or job.status != "checking":
        return
    rt = _runtime()

    def work() -> None:
        try:
            runner.run_check(
                rt.db,
                rt.settings,
                actor.company_id,
                uuid.UUID(job_id),
                progress=lambda d, t: report_progress(job_id, d, t),
            )
        except Exception as exc:
            _check_failed(actor.company_id, uuid.UUID(job_id), exc)
            raise

    on_commit(session, work)


def _check_failed(company_id: uuid.UUID, job_id: uuid.UUID, exc: BaseException) -> None:
    from copcca.errors import CopccaError

    with _runtime().db.transaction(company_id) as session:
        job = session.get(ImportJob, job_id)
        if job is not None and job.status == "checking":
            job.status = "uploaded"
            job.error = (
                exc.message
                if isinstance(exc, CopccaError)
                else ("Checking the rows failed unexpectedly. Try again.")
            )


@tenant_task()
def import_rows(
    session: Session, actor: Principal, job_id: str, runner_token: str
) -> None:
    """Import an import job's rows (or continue them after a crash)."""
    from copcca.imports import runner

    job = session.get(ImportJob, uuid.UUID(job_id))
    if (
        job is None
        or job.company_id != actor.company_id
        or job.runner != runner_token
        or job.status != "importing"
    ):
        return
    job.heartbeat_at = utcnow()
    rt = _runtime()
    on_commit(
        session,
        lambda: runner.run_import(
            rt.db,
            rt.settings,
            actor.company_id,
            uuid.UUID(job_id),
            runner_token,
            progress=lambda d, t: report_progress(job_id, d, t),
        ),
    )


@tenant_task()
def undo_rows(
    session: Session, actor: Principal, job_id: str, runner_token: str
) -> None:
    """Reverse an import, newest batch first."""
    from copcca.imports import undo

    job = session.get(ImportJob, uuid.UUID(job_id))
    if job is None or job.company_id != actor.company_id or job.runner != runner_token:
        return
    rt = _runtime()
    on_commit(
        session,
        lambda: undo.run_undo(rt.db, actor.company_id, uuid.UUID(job_id), runner_token),
    )


@huey.periodic_task(crontab(minute="*"), name="copcca.imports.resume_stalled")  # type: ignore[untyped-decorator]
def resume_stalled() -> None:
    """Imports whose worker stopped reporting (killed, machine lost) resume."""
    from copcca.imports import service

    rt = _runtime()
    stale = timedelta(seconds=rt.settings.import_stale_after_s)
    with rt.db.transaction(write=False) as session:
        companies = list(session.scalars(select(Company.id)))
    for company_id in companies:
        with rt.db.transaction(company_id) as session:
            stalled = session.scalars(
                select(ImportJob.id).where(
                    ImportJob.company_id == company_id,
                    ImportJob.status == "importing",
                    ImportJob.heartbeat_at < utcnow() - stale,
                )
            ).all()
            for job_id in stalled:
                service.resume(
                    session, Principal.system(company_id, "import"), job_id, stale
                )
