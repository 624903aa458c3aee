"""F6: kill a real worker process in the middle of an import, start another,
resume: the result equals an uninterrupted import, with no duplicates and
no gaps; the change log covers every row exactly once."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from copcca.config import Settings
from copcca.imports import service
from copcca.jobs.queue import configure_queue
from copcca.models.crm import Customer
from copcca.models.import_rows import ImportChange
from copcca.runtime import Runtime
from tests.conftest import TEST_KEY
from tests.helpers import make_company
from tests.imports.helpers import job, upload

ROWS = 2_000
ROOT = Path(__file__).parents[2]


def _csv() -> bytes:
    lines = ["Name,Phone,City"]
    lines += [f"Mteja {i},07{i:08d},Nairobi" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def queue(runtime: Runtime, settings: Settings) -> Iterator[None]:
    configure_queue(settings)  # the on-disk queue a worker process can read
    yield
    configure_queue(settings, immediate=True)


def _worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COPCCA_DATA_DIR": str(settings.data_dir),
        "COPCCA_DATABASE_URL": settings.effective_database_url,
        "COPCCA_SECRET_KEY": TEST_KEY,
        "COPCCA_IMPORT_BATCH_ROWS": "100",
        "COPCCA_IMPORT_THROTTLE_MS": "100",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "copcca.cli",
            "worker",
            "--threads",
            "1",
            "--no-scheduler",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(
    runtime: Runtime, tenant: object, job_id: object, done: object, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = job(runtime, tenant, job_id)  # type: ignore[arg-type]
        if done(row):  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; import at {row.status} {row.processed_rows}")


@pytest.mark.slow
def test_killed_worker_resumes_without_duplicates(
    runtime: Runtime, settings: Settings, queue: None
) -> None:
    tenant = make_company(runtime)
    job_id = upload(runtime, tenant, _csv())
    with runtime.db.transaction(tenant.company_id) as session:
        service.start_import(session, tenant.principal, job_id)

    first = _worker(settings)
    try:
        _wait(runtime, tenant, job_id, lambda j: j.processed_rows >= 300)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

    killed = job(runtime, tenant, job_id)
    assert killed.status == "importing"
    assert 300 <= killed.processed_rows < ROWS
    assert killed.processed_rows % 100 == 0  # whole batches only
    assert killed.checkpoint_row == killed.processed_rows + 1  # row 1 is the header
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == (
            killed.processed_rows
        )
        assert session.scalar(select(func.count()).select_from(ImportChange)) == (
            killed.batches_done
        )

    time.sleep(1.1)
    second = _worker(settings)
    try:
        with runtime.db.transaction(tenant.company_id) as session:
            service.resume(session, tenant.principal, job_id, timedelta(seconds=1))
        _wait(runtime, tenant, job_id, lambda j: j.status in ("finished", "failed"))
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=30)

    finished = job(runtime, tenant, job_id)
    assert finished.status == "finished", finished.error
    assert (finished.created_count, finished.processed_rows) == (ROWS, ROWS)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        phones = list(session.scalars(select(Customer.phone)))
        spans = session.execute(
            select(ImportChange.first_row, ImportChange.last_row).order_by(
                ImportChange.batch
            )
        ).all()
    assert len(phones) == ROWS
    assert set(phones) == {f"+2547{i:08d}" for i in range(ROWS)}
    assert spans[0][0] == 2
    assert spans[-1][1] == ROWS + 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(spans))
