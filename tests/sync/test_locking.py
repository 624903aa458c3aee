"""J6: at most one sync per integration runs and at most one waits, however
many ask at once; a worker that lost its lease can never write again."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from copcca.db.base import utcnow
from copcca.models.crm import Customer
from copcca.models.sync import RunStatus, SyncRun
from copcca.runtime import Runtime
from copcca.sync import runs, scheduler
from copcca.sync.engine import execute_run
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import make_company
from tests.sync.helpers import count


def _statuses(runtime: Runtime, company_id: uuid.UUID) -> dict[str, int]:
    with runtime.db.transaction(company_id, write=False) as session:
        rows = session.execute(
            select(SyncRun.status, func.count()).group_by(SyncRun.status)
        ).all()
    return {status: int(n) for status, n in rows}


def test_ten_concurrent_requests_leave_one_waiting_run(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    delivered: list[uuid.UUID] = []
    monkeypatch.setattr(
        "copcca.sync.tasks.deliver_run",
        lambda _cid, run_id, _eta: delivered.append(run_id),
    )
    barrier = threading.Barrier(10)
    created: list[bool] = []

    def ask() -> None:
        barrier.wait()
        with runtime.db.transaction(tenant.company_id) as session:
            req = runs.request_run(session, tenant.company_id, iid, trigger="manual")
            created.append(req.created)

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(created) == [False] * 9 + [True]
    assert _statuses(runtime, tenant.company_id) == {"queued": 1}
    assert len(set(delivered)) == 1


def test_concurrent_requests_and_workers_run_one_sync_at_a_time(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.delay = 0.02
    pool = ThreadPoolExecutor(max_workers=4)  # four "worker threads"
    outcomes: list[RunStatus | None] = []

    def work(cid: uuid.UUID, run_id: uuid.UUID, _eta: datetime) -> None:
        def job() -> None:
            outcomes.append(
                execute_run(runtime.db, runtime.vault, runtime.settings, cid, run_id)
            )

        pool.submit(job)

    monkeypatch.setattr("copcca.sync.tasks.deliver_run", work)
    seen: list[dict[str, int]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(_statuses(runtime, tenant.company_id))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    barrier = threading.Barrier(10)

    def ask() -> None:
        barrier.wait()
        with runtime.db.transaction(tenant.company_id) as session:
            runs.request_run(session, tenant.company_id, iid, trigger="manual")

    askers = [threading.Thread(target=ask) for _ in range(10)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = _statuses(runtime, tenant.company_id)
        if not now.get("queued") and not now.get("running"):
            break
        time.sleep(0.05)
    pool.shutdown(wait=True)
    stop.set()
    watcher.join(timeout=10)

    assert store.max_in_flight == 1
    assert all(s.get("running", 0) <= 1 and s.get("queued", 0) <= 1 for s in seen)
    final = _statuses(runtime, tenant.company_id)
    assert set(final) == {"succeeded"}
    assert 1 <= final["succeeded"] <= 10
    assert count(runtime, tenant, Customer) == 12


def test_a_worker_that_lost_its_lease_cannot_write(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    monkeypatch.setattr("copcca.sync.tasks.deliver_run", lambda *_a: None)
    with runtime.db.transaction(tenant.company_id) as session:
        run_id = runs.request_run(
            session, tenant.company_id, iid, trigger="manual"
        ).run.id
    lease = timedelta(seconds=60)
    first = runs.claim(runtime.db, tenant.company_id, run_id, worker="a:1", lease=lease)
    assert first is not None
    later = utcnow() + timedelta(seconds=61)
    with runtime.db.transaction(tenant.company_id) as session:
        scheduler.tick_company(
            session,
            tenant.company_id,
            now=later,
            max_attempts=5,
            schedule=False,
            is_dead=lambda _w: False,
        )
    second = runs.claim(
        runtime.db, tenant.company_id, run_id, worker="b:2", lease=lease
    )
    assert second is not None
    assert second.attempt == 2

    with pytest.raises(runs.LostClaim), runtime.db.transaction(tenant.company_id) as s:
        runs.keep(s, first, lease)
    with runtime.db.transaction(tenant.company_id) as session:
        runs.keep(session, second, lease)  # the new owner keeps it fine
