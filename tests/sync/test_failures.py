"""How a sync fails: auth stops and asks for a reconnect (no retry); a
provider that keeps failing is retried with capped backoff (J4) and ends
failed and visible, with a retry that works (J5); a request error fails
one stream only; unreadable secrets ask for a reconnect."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from copcca.db.base import utcnow
from copcca.models.crm import Customer, Product
from copcca.models.integrations import Integration
from copcca.models.sync import RunStatus, SyncRun
from copcca.models.webhooks import Event
from copcca.runtime import Runtime
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import make_company
from tests.sync.helpers import count, integration, log_of, request, run_now, run_row


def _runs(runtime: Runtime, tenant_id: object) -> list[SyncRun]:
    with runtime.db.transaction(tenant_id, write=False) as session:  # type: ignore[arg-type]
        return list(session.scalars(select(SyncRun)))


def test_refused_credentials_mark_needs_reconnect_and_do_not_retry(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, api_key="wrong-key")

    run_id = request(runtime, tenant, iid)

    run = run_row(runtime, tenant, run_id)
    assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
    assert store.data_calls() == 1  # an auth error is never retried
    assert [r.status for r in _runs(runtime, tenant.company_id)] == ["failed"]
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.error_kind) == ("failed", "auth")
    assert log.message == "Test Store refused our credentials (HTTP 401)."
    assert log.fix == "Reconnect Test Store: the key or token was changed or revoked."
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health, conn.next_sync_at) == (
        "needs_reconnect",
        "red",
        None,
    )
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert [e.type for e in session.scalars(select(Event))] == [
            "integration.failed"
        ]


def test_store_failing_retries_with_backoff_then_fails_visibly_and_retry_works(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.fail_next(1000, 500)
    started = utcnow()

    run_id = request(runtime, tenant, iid)

    run = run_row(runtime, tenant, run_id)
    assert (run.status, run.attempts) == (RunStatus.QUEUED, 1)
    assert store.data_calls() == 3  # the HTTP layer's own tries
    # Attempt 1 waits between half and all of min(cap, base * 2): 30..60 s.
    wait = (run.next_attempt_at - started).total_seconds()
    assert 30 <= wait <= 61
    log = log_of(runtime, tenant, run_id)
    assert log.status == "running"
    assert log.message.startswith("Test Store had a temporary problem (HTTP 500).")
    assert "(attempt 2 of 5)" in log.message
    assert integration(runtime, tenant, iid).health == "orange"

    for attempt in (2, 3, 4):
        assert run_now(runtime, tenant, run_id) == RunStatus.QUEUED
        assert run_row(runtime, tenant, run_id).attempts == attempt
    assert run_now(runtime, tenant, run_id) == RunStatus.FAILED  # attempt 5 of 5

    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.error_kind) == ("failed", "transient")
    assert log.message == (
        "Test Store had a temporary problem (HTTP 500). We tried 5 times, then stopped."
    )
    assert store.data_calls() == 15
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health) == ("error", "red")
    assert conn.next_sync_at is not None  # the schedule keeps trying later

    store.script.clear()
    retry_id = request(runtime, tenant, iid, trigger="retry")
    assert run_row(runtime, tenant, retry_id).status == RunStatus.SUCCEEDED
    assert count(runtime, tenant, Customer) == 12
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health) == ("connected", "green")


def test_long_retry_after_ends_the_attempt_and_waits_that_long(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.fail_next(1, 429, {"Retry-After": "900"})
    started = utcnow()

    run_id = request(runtime, tenant, iid)

    run = run_row(runtime, tenant, run_id)
    assert run.status == RunStatus.QUEUED
    assert store.data_calls() == 1
    assert run.next_attempt_at - started >= timedelta(seconds=899)
    assert "asked us to slow down" in log_of(runtime, tenant, run_id).message


def test_a_short_429_is_waited_out_inside_the_run(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.fail_next(1, 429, {"Retry-After": "0.05"})

    run_id = request(runtime, tenant, iid)

    assert run_row(runtime, tenant, run_id).status == RunStatus.SUCCEEDED
    conn = integration(runtime, tenant, iid)
    assert conn.health == "orange"
    assert conn.health_reason == (
        "Test Store asked us to slow down 1 times; everything synced, just slower."
    )


def test_request_error_fails_that_stream_and_the_others_sync(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    store.fail_next(1, 400)  # the first data call: customers

    run_id = request(runtime, tenant, iid)

    assert run_row(runtime, tenant, run_id).status == RunStatus.PARTIAL
    assert count(runtime, tenant, Customer) == 0
    assert count(runtime, tenant, Product) == 7
    log = log_of(runtime, tenant, run_id)
    assert log.status == "partial"
    assert log.details["failed_streams"] == ["customers"]
    assert log.errors[0]["message"] == "Test Store rejected a request (HTTP 400)."
    conn = integration(runtime, tenant, iid)
    assert (
        conn.health_reason == "The last sync could not read customers from Test Store."
    )


def test_unreadable_stored_secrets_ask_for_a_reconnect(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    with runtime.db.transaction(tenant.company_id) as session:
        row = session.get(Integration, iid)
        assert row is not None
        assert row.credentials is not None
        row.credentials = row.credentials[:-1] + bytes([row.credentials[-1] ^ 1])

    run_id = request(runtime, tenant, iid)

    assert run_row(runtime, tenant, run_id).status == RunStatus.FAILED
    assert store.data_calls() == 0
    log = log_of(runtime, tenant, run_id)
    assert log.message == "The stored credentials for Test Store cannot be opened."
    assert integration(runtime, tenant, iid).status == "needs_reconnect"
