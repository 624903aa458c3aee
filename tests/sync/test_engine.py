"""The sync engine against the local test store, over real HTTP: full and
incremental syncs, re-runs (J3), one transaction per page (J2), bad
records, and what the log and the connection say afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from copcca.db import wal
from copcca.db.base import utcnow
from copcca.models.crm import Customer, Product
from copcca.models.integrations import SyncState
from copcca.models.sync import RunStatus
from copcca.runtime import Runtime
from copcca.sync.engine import SyncJob
from copcca.sync.faults import FaultInjected
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import make_company
from tests.sync.helpers import (
    count,
    crm_snapshot,
    integration,
    log_of,
    request,
    run_now,
    run_row,
)


def test_first_sync_brings_every_record_with_counts_and_cursor(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)

    run_id = request(runtime, tenant, iid)

    run = run_row(runtime, tenant, run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert count(runtime, tenant, Customer) == 12
    assert count(runtime, tenant, Product) == 7
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.created_count, log.updated_count, log.failed_count) == (
        "success",
        19,
        0,
        0,
    )
    assert log.message == (
        "Customers: 12 new, 0 updated, 0 already up to date. "
        "Products: 7 new, 0 updated, 0 already up to date."
    )
    assert log.duration_ms is not None
    snap = crm_snapshot(runtime, tenant)
    assert snap["cursors"]["customers"] == {
        "since": store.records["customers"][112]["updated_at"],
        "after": 112,
    }
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health, conn.health_reason) == (
        "connected",
        "green",
        None,
    )
    assert conn.last_success_at is not None
    assert conn.next_sync_at is not None  # hourly


def test_rerun_changes_nothing_and_full_resync_creates_no_duplicates(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    request(runtime, tenant, iid)
    first = crm_snapshot(runtime, tenant)

    again = request(runtime, tenant, iid)
    full = request(runtime, tenant, iid, full_resync=True)

    assert crm_snapshot(runtime, tenant) == first
    assert log_of(runtime, tenant, again).message == (
        "Customers: nothing new. Products: nothing new."
    )
    full_log = log_of(runtime, tenant, full)
    assert (full_log.created_count, full_log.skipped_count) == (0, 19)


def test_incremental_sync_reads_only_changes(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    request(runtime, tenant, iid)
    calls_before = store.data_calls()
    store.update("customers", 105, name="Renamed Customer")
    store.add("products", name="New thing", sku="NEW-1", price="10.00", stock=1)

    run_id = request(runtime, tenant, iid)

    log = log_of(runtime, tenant, run_id)
    assert (log.created_count, log.updated_count) == (1, 1)
    assert store.data_calls() - calls_before == 2  # one page per stream
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        names = set(session.scalars(select(Customer.name)))
    assert "Renamed Customer" in names


def test_bad_record_is_skipped_with_a_sample_and_the_rest_syncs(
    runtime: Runtime, store: TestStore
) -> None:
    store.add("customers", name="", phone="0700000001")  # no name: a DataError
    store.add("products", name="Odd", sku="ODD", price="ten", stock=1)
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)

    run_id = request(runtime, tenant, iid)

    assert run_row(runtime, tenant, run_id).status == RunStatus.PARTIAL
    assert count(runtime, tenant, Customer) == 12
    assert count(runtime, tenant, Product) == 7
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.failed_count, log.created_count) == ("partial", 2, 19)
    samples = {(e["stream"], e["record"], e["message"]) for e in log.errors}
    assert samples == {
        ("customers", "Customer 113", "This customer has no name."),
        ("products", "Product 108", "The price 'ten' is not a number."),
    }
    assert all(e["excerpt"].startswith("{") for e in log.errors)
    conn = integration(runtime, tenant, iid)
    assert conn.health == "orange"
    assert conn.health_reason == "2 records from Test Store could not be brought in."


def test_exception_between_records_and_cursor_rolls_back_both(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """J2: the page's records and its cursor commit together or not at all."""
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    monkeypatch.setenv("COPCCA_FAULT", "after_upsert:customers:2")
    monkeypatch.setenv("COPCCA_FAULT_ACTION", "raise")

    run_id = request(runtime, tenant, iid)

    # Page 1 (5 customers) committed with its cursor; page 2 left no trace.
    assert count(runtime, tenant, Customer) == 5
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        state = session.scalars(select(SyncState)).one()
    assert state.cursor["after"] == 105
    run = run_row(runtime, tenant, run_id)
    assert (run.status, run.attempts) == (RunStatus.QUEUED, 1)
    assert FaultInjected.__name__ in (run.last_error or "")

    monkeypatch.delenv("COPCCA_FAULT")
    assert run_now(runtime, tenant, run_id) == RunStatus.SUCCEEDED
    assert count(runtime, tenant, Customer) == 12
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.created_count) == ("success", 19)


def test_a_stream_not_chosen_is_not_read(runtime: Runtime, store: TestStore) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, streams=["products"])

    request(runtime, tenant, iid)

    assert count(runtime, tenant, Customer) == 0
    assert count(runtime, tenant, Product) == 7
    assert all(path != "/api/customers" for _m, path, _q in store.requests)


def test_disconnecting_during_a_sync_stops_it_cleanly(
    runtime: Runtime, store: TestStore
) -> None:
    from copcca.integrations import service
    from copcca.models.sync import SyncRun
    from copcca.sync import runs
    from copcca.sync.engine import execute_run

    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    later = utcnow() + timedelta(days=1)  # queued, not run by the test queue
    with runtime.db.transaction(tenant.company_id) as session:
        run_id = runs.request_run(
            session, tenant.company_id, iid, trigger="manual", at=later
        ).run.id

    def disconnect(call: int) -> None:
        if call == 2:
            with runtime.db.transaction(tenant.company_id) as session:
                service.disconnect(session, tenant.principal, iid)

    store.on_data = disconnect
    with runtime.db.transaction(tenant.company_id) as session:
        session.get(SyncRun, run_id).next_attempt_at = utcnow()

    outcome = execute_run(
        runtime.db, runtime.vault, runtime.settings, tenant.company_id, run_id
    )

    assert outcome is None
    assert count(runtime, tenant, Customer) == 5  # page 1 only
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalars(select(SyncRun)).all() == []


def test_each_page_leaves_its_checkpoint_to_the_checkpointer_thread(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[int] = []
    autocheckpoint: list[int] = []
    monkeypatch.setattr(wal.Checkpointer, "wrote", lambda self: told.append(1))
    real_progress = SyncJob._progress

    def progress(self: SyncJob, session: Session, *args: Any) -> None:
        if not runtime.db.is_postgres:
            autocheckpoint.append(
                session.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()
            )
        real_progress(self, session, *args)

    monkeypatch.setattr(SyncJob, "_progress", progress)
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)

    request(runtime, tenant, iid)

    if runtime.db.is_postgres:
        assert told == []
    else:
        assert len(told) == len(autocheckpoint) >= 2  # one per page committed
        assert set(autocheckpoint) == {0}
