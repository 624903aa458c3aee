"""Sync jobs on the Huey queue: run one sync, the minute scheduler, and
recovery of runs whose worker died, as soon as a worker starts."""

from __future__ import annotations

import uuid
from datetime import datetime

from huey import crontab

from copcca.db.base import utcnow
from copcca.jobs.queue import huey


@huey.task(name="copcca.sync.run")
def run_sync_job(company_id: str, run_id: str) -> None:
    """Claim and run one sync (a no-op if another worker has it)."""
    from copcca.runtime import get_runtime
    from copcca.sync.engine import execute_run

    runtime = get_runtime()
    execute_run(
        runtime.db,
        runtime.vault,
        runtime.settings,
        uuid.UUID(company_id),
        uuid.UUID(run_id),
    )


def deliver_run(company_id: uuid.UUID, run_id: uuid.UUID, eta: datetime) -> None:
    """Put a run on the queue, now or at its retry time."""
    delay = (eta - utcnow()).total_seconds()
    if delay > 1:
        run_sync_job.schedule((str(company_id), str(run_id)), delay=delay)
    else:
        run_sync_job(str(company_id), str(run_id))


@huey.periodic_task(crontab(minute="*"), name="copcca.sync.tick")
def sync_tick() -> None:
    """Every minute: start due syncs, resume stalled ones, re-deliver lost
    jobs and process webhooks whose job never ran."""
    from copcca.runtime import get_runtime
    from copcca.sync.scheduler import tick

    tick(get_runtime())


@huey.on_startup(name="copcca.sync.recover")
def recover_on_start() -> None:
    """A worker that starts picks up runs a dead worker on this machine left
    (J1), without waiting for their lease to run out."""
    from copcca.runtime import get_runtime
    from copcca.sync.scheduler import tick

    tick(get_runtime(), schedule=False)
