"""J1 with real worker processes: a ``copcca worker`` killed with SIGKILL
mid-sync (before the upsert, between records and cursor, right after the
commit) is resumed by the next worker from the last committed cursor, and
the final data equals an uninterrupted run. Also J6 across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from copcca.config import Settings
from copcca.jobs.queue import configure_queue
from copcca.models.crm import Customer
from copcca.models.sync import RunStatus
from copcca.runtime import Runtime
from tests.conftest import TEST_KEY
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import make_company
from tests.sync.helpers import count, crm_snapshot, log_of, request, run_row

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


class Workers:
    """Starts and stops ``copcca worker`` processes for one test."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> subprocess.Popen[bytes]:
        full = {
            **os.environ,
            "COPCCA_DATA_DIR": str(self.settings.data_dir),
            "COPCCA_DATABASE_URL": str(self.settings.database_url),
            "COPCCA_MIGRATION_DATABASE_URL": str(self.settings.migration_database_url),
            "COPCCA_SECRET_KEY": TEST_KEY,
            "PYTHONPATH": str(REPO),
            **env,
        }
        full.pop("COPCCA_REDIS_URL", None)
        out = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.sync.worker_main",
                "worker",
                "--threads",
                "2",
            ],
            cwd=REPO,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)  # reaped: its pid is gone

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)

    def output(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in self.logs.glob("*.log")
        )


@pytest.fixture
def workers(runtime: Runtime, settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    configure_queue(settings)  # the real SQLite queue the workers read
    pool = Workers(settings, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
        configure_queue(settings, immediate=True)


def wait_for(what: Callable[[], bool], seconds: float, workers: Workers) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds}s\n{workers.output()}")


@pytest.mark.parametrize(
    ("point", "customers_at_kill"),
    [("before_upsert", 5), ("after_upsert", 5), ("after_commit", 10)],
)
def test_worker_killed_mid_sync_resumes_and_ends_equal_to_an_uninterrupted_run(
    runtime: Runtime,
    store: TestStore,
    workers: Workers,
    tmp_path: Path,
    point: str,
    customers_at_kill: int,
) -> None:
    golden = make_company(runtime, name="Golden")
    configure_queue(runtime.settings, immediate=True)
    request(runtime, golden, connect_store(runtime, golden, store))
    configure_queue(runtime.settings)
    expected = crm_snapshot(runtime, golden)
    assert len(expected["customers"]) == 12

    tenant = make_company(runtime, name="Crashed")
    iid = connect_store(runtime, tenant, store)
    marker = tmp_path / "fault.pid"
    first = workers.start(
        COPCCA_FAULT=f"{point}:customers:2", COPCCA_FAULT_MARKER=str(marker)
    )
    run_id = request(runtime, tenant, iid)

    wait_for(marker.exists, 60, workers)
    assert int(marker.read_text()) == first.pid
    workers.kill(first)

    assert count(runtime, tenant, Customer) == customers_at_kill
    assert run_row(runtime, tenant, run_id).status == RunStatus.RUNNING

    workers.start()

    def ended() -> bool:
        return run_row(runtime, tenant, run_id).status not in ("running", "queued")

    wait_for(ended, 90, workers)

    run = run_row(runtime, tenant, run_id)
    assert (run.status, run.attempts) == (RunStatus.SUCCEEDED, 2)
    assert crm_snapshot(runtime, tenant) == expected
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.created_count, log.updated_count, log.failed_count) == (
        "success",
        19,
        0,
        0,
    )


def test_two_worker_processes_never_run_one_integration_twice(
    runtime: Runtime, store: TestStore, workers: Workers
) -> None:
    """J6 across processes: requests keep coming while two workers (two
    threads each) consume; the store never sees two syncs at once."""
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.delay = 0.05
    workers.start()
    workers.start()
    run_ids: set[uuid.UUID] = set()
    for _ in range(10):
        run_ids.add(request(runtime, tenant, iid))
        time.sleep(0.1)

    def settled() -> bool:
        statuses = {run_row(runtime, tenant, r).status for r in run_ids}
        return statuses <= {RunStatus.SUCCEEDED}

    wait_for(settled, 120, workers)
    assert store.max_in_flight == 1
    assert count(runtime, tenant, Customer) == 12
