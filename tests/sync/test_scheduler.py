"""The minute scheduler: due syncs by frequency, never for paused or
disconnected-looking connections; stalled runs resumed or ended (J5, J7);
lost jobs re-sent; stored webhooks re-sent on their retry schedule."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from copcca.db.base import utcnow
from copcca.integrations import service
from copcca.models.integrations import Integration, WebhookInbox
from copcca.models.sync import RunStatus, SyncRun
from copcca.runtime import Runtime
from copcca.sync import runs, scheduler
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import Tenant, make_company
from tests.sync.helpers import log_of, run_row


@pytest.fixture
def delivered(monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """Runs handed to the queue (not executed)."""
    sent: list[uuid.UUID] = []
    monkeypatch.setattr(
        "copcca.sync.tasks.deliver_run", lambda _c, run_id, _eta: sent.append(run_id)
    )
    return sent


def tick(runtime: Runtime, tenant: Tenant, now: datetime, **kw: object) -> None:
    with runtime.db.transaction(tenant.company_id) as session:
        scheduler.tick_company(
            session,
            tenant.company_id,
            now=now,
            max_attempts=runtime.settings.sync_max_attempts,
            **kw,  # type: ignore[arg-type]
        )


def set_fields(
    runtime: Runtime, tenant: Tenant, iid: uuid.UUID, **fields: object
) -> None:
    with runtime.db.transaction(tenant.company_id) as session:
        row = session.get(Integration, iid)
        assert row is not None
        for key, value in fields.items():
            setattr(row, key, value)


def waiting(runtime: Runtime, tenant: Tenant) -> list[SyncRun]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.status == "queued")))


@pytest.mark.parametrize(
    ("frequency", "status", "due"),
    [
        ("15m", "connected", True),
        ("hourly", "connected", True),
        ("daily", "error", True),
        ("realtime", "connected", True),
        ("manual", "connected", False),
        ("hourly", "paused", False),
        ("hourly", "needs_reconnect", False),
    ],
)
def test_due_syncs_by_frequency_and_status(
    runtime: Runtime,
    store: TestStore,
    delivered: list[uuid.UUID],
    frequency: str,
    status: str,
    due: bool,
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, frequency=frequency)
    now = utcnow()
    set_fields(
        runtime, tenant, iid, status=status, next_sync_at=now - timedelta(seconds=1)
    )

    tick(runtime, tenant, now)

    assert len(waiting(runtime, tenant)) == (1 if due else 0)
    assert len(delivered) == (1 if due else 0)


def test_not_yet_due_and_unscheduled_connections_wait(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    later = connect_store(runtime, tenant, store)
    never = connect_store(runtime, tenant, store, name="Not set up")
    now = utcnow()
    set_fields(runtime, tenant, later, next_sync_at=now + timedelta(minutes=1))
    set_fields(runtime, tenant, never, next_sync_at=None)

    tick(runtime, tenant, now)

    assert waiting(runtime, tenant) == []


def test_a_due_sync_is_requested_once_and_the_clock_moves_on(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, frequency="15m")
    now = utcnow()
    set_fields(runtime, tenant, iid, next_sync_at=now)

    tick(runtime, tenant, now)
    tick(runtime, tenant, now + timedelta(minutes=1))

    assert len(waiting(runtime, tenant)) == 1
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, iid)
        assert row is not None
        assert row.next_sync_at == now + timedelta(minutes=15)


def test_frequency_change_reschedules_from_the_last_sync(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    last = utcnow() - timedelta(hours=2)
    set_fields(runtime, tenant, iid, last_sync_at=last)
    for frequency, expected in (("daily", last + timedelta(days=1)), ("manual", None)):
        with runtime.db.transaction(tenant.company_id) as session:
            service.change(
                session,
                tenant.principal,
                runtime.vault,
                iid,
                service.IntegrationChange(frequency=frequency),
            )
        with runtime.db.transaction(tenant.company_id, write=False) as session:
            row = session.get(Integration, iid)
            assert row is not None
            assert row.next_sync_at == expected


def test_a_stalled_run_resumes_and_after_the_last_attempt_ends_failed(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    with runtime.db.transaction(tenant.company_id) as session:
        run_id = runs.request_run(
            session, tenant.company_id, iid, trigger="manual"
        ).run.id
    lease = timedelta(seconds=60)
    for attempt in range(1, 6):
        claim = runs.claim(
            runtime.db, tenant.company_id, run_id, worker="gone:1", lease=lease
        )
        assert claim is not None
        assert claim.attempt == attempt
        tick(runtime, tenant, utcnow(), schedule=False, is_dead=lambda w: w == "gone:1")

    run = run_row(runtime, tenant, run_id)
    assert run.status == RunStatus.FAILED
    log = log_of(runtime, tenant, run_id)
    assert log.status == "failed"
    assert log.message == (
        "The sync stopped in the middle (the worker went away). "
        "We tried 5 times, then stopped."
    )
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, iid)
        assert row is not None
        assert (row.status, row.health) == ("error", "red")


def test_a_live_worker_on_another_machine_keeps_its_run_until_the_lease_ends(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    with runtime.db.transaction(tenant.company_id) as session:
        run_id = runs.request_run(
            session, tenant.company_id, iid, trigger="manual"
        ).run.id
    runs.claim(
        runtime.db,
        tenant.company_id,
        run_id,
        worker="elsewhere:1",
        lease=timedelta(minutes=10),
    )

    tick(runtime, tenant, utcnow(), schedule=False)
    assert run_row(runtime, tenant, run_id).status == RunStatus.RUNNING
    tick(runtime, tenant, utcnow() + timedelta(minutes=11), schedule=False)
    assert run_row(runtime, tenant, run_id).status == RunStatus.QUEUED


def test_a_lost_job_is_sent_again(
    runtime: Runtime, store: TestStore, delivered: list[uuid.UUID]
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    with runtime.db.transaction(tenant.company_id) as session:
        run_id = runs.request_run(
            session, tenant.company_id, iid, trigger="manual"
        ).run.id
    assert delivered == [run_id]

    tick(runtime, tenant, utcnow() + timedelta(minutes=1))
    assert delivered == [run_id]  # not overdue yet
    tick(runtime, tenant, utcnow() + timedelta(minutes=6))
    assert delivered == [run_id, run_id]


def test_stored_webhooks_are_sent_again_on_their_retry_schedule(
    runtime: Runtime, store: TestStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    jobs: list[str] = []
    monkeypatch.setattr(
        "copcca.webhooks.inbound.tasks.process_inbox_job",
        lambda _company, integration: jobs.append(integration),
    )
    received = utcnow()
    with runtime.db.transaction(tenant.company_id) as session:
        session.add(
            WebhookInbox(
                company_id=tenant.company_id,
                integration_id=iid,
                provider="teststore",
                event_id="e-1",
                event_type="customer.updated",
                received_at=received,
                body=b"{}",
                attempts=1,
            )
        )

    tick(runtime, tenant, received + timedelta(minutes=3))
    assert jobs == []  # attempt 1 waits 4 minutes
    tick(runtime, tenant, received + timedelta(minutes=4))
    assert jobs == [str(iid)]
