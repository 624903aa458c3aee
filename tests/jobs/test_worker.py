"""A real worker process: it reports in, runs jobs from the queue (SQLite
by default, Redis when configured), and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from copcca.config import Settings
from copcca.jobs import heartbeat as hb
from copcca.jobs.queue import configure_queue
from copcca.models.system import WorkerHeartbeat
from copcca.runtime import Runtime
from tests.conftest import TEST_KEY

REDIS_URL = os.environ.get("COPCCA_TEST_REDIS_URL")


def _wait(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _beats(runtime: Runtime) -> int:
    with runtime.db.transaction(write=False) as session:
        return sum(session.scalars(select(WorkerHeartbeat.beats)).all())


def _run_worker(settings: Settings, runtime: Runtime, redis_url: str | None) -> None:
    env = {
        **os.environ,
        "COPCCA_DATA_DIR": str(settings.data_dir),
        "COPCCA_DATABASE_URL": settings.effective_database_url,
        "COPCCA_SECRET_KEY": TEST_KEY,
    }
    if redis_url:
        env["COPCCA_REDIS_URL"] = redis_url
        settings = settings.model_copy(update={"redis_url": redis_url})
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "copcca.cli",
            "worker",
            "--threads",
            "1",
            "--no-scheduler",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _wait(lambda: _beats(runtime) >= 1), "the worker never reported in"
        configure_queue(settings)
        if redis_url:
            hb.huey.storage.flush_queue()
        before = _beats(runtime)
        hb.heartbeat()  # enqueue the heartbeat job; the worker process runs it
        assert _wait(lambda: _beats(runtime) > before), "the queued job never ran"
        health = hb.worker_health(runtime.db)
        assert (health.state, health.workers) == ("ok", 1)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
        configure_queue(settings, immediate=True)
    assert worker.returncode == 0, (
        worker.stdout.read().decode()[-2000:] if worker.stdout else ""
    )


@pytest.mark.slow
def test_worker_process_reports_in_and_runs_queued_jobs(
    settings: Settings, runtime: Runtime
) -> None:
    _run_worker(settings, runtime, None)


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.skipif(
    not REDIS_URL, reason="Redis not configured: set COPCCA_TEST_REDIS_URL"
)
def test_worker_process_with_redis_queue(settings: Settings, runtime: Runtime) -> None:
    _run_worker(settings, runtime, REDIS_URL)


def test_health_says_never_then_stale(runtime: Runtime) -> None:
    from datetime import timedelta

    from copcca.db.base import utcnow

    assert hb.worker_health(runtime.db).state == "never"
    hb.beat(runtime.db, at=utcnow() - timedelta(minutes=10))
    assert hb.worker_health(runtime.db).state == "stale"
    hb.beat(runtime.db)
    assert hb.worker_health(runtime.db).state == "ok"
