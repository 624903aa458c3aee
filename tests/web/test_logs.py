"""Sync Logs: the detail view's plain errors, fix and one-click actions
(retry, reconnect, skip record), webhook batches as rows, and CSV export
with formula injection neutralised (F5), in the pages and the API."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.models.integrations import Integration, SyncLog, SyncStatus, WebhookInbox
from copcca.models.sync import SyncSkip
from copcca.runtime import Runtime
from copcca.sync.export import safe_cell
from copcca.sync.logs import finish_log, start_log
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.connectors.teststore import sign
from tests.helpers import Tenant, api_key_for, bearer, login, make_company, page_csrf
from tests.sync.helpers import log_of, request


@pytest.fixture
def owner(client: TestClient, runtime: Runtime) -> Tenant:
    tenant = make_company(runtime)
    login(client, tenant.email)
    return tenant


def post(client: TestClient, path: str, **data: str) -> httpx.Response:
    return client.post(
        path,
        data={"csrf_token": page_csrf(client, "/app/integrations/logs"), **data},
        follow_redirects=True,
    )


def test_partial_sync_detail_shows_problems_and_skip_then_retry_rereads(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    bad_customer = store.add("customers", name="", phone="0700000009")
    store.add("products", name="Odd", sku="ODD", price="ten")
    iid = connect_store(runtime, owner, store)
    run_id = request(runtime, owner, iid)
    log = log_of(runtime, owner, run_id)
    detail = f"/app/integrations/logs/{log.id}"

    page = client.get(detail)
    assert "Partly failed" in page.text
    assert "Open the problems below: each says what to change." in page.text
    assert "This customer has no name." in page.text
    assert "Give the customer a name in the store; it comes in next sync." in page.text
    assert "Retry: read everything again" in page.text
    assert page.text.count("Skip this record") == 2
    customer_index = next(
        i for i, e in enumerate(log.errors) if e["stream"] == "customers"
    )

    post(client, f"{detail}/skip", index=str(customer_index))
    with runtime.db.transaction(owner.company_id, write=False) as session:
        skip = session.scalars(select(SyncSkip)).one()
        assert (skip.stream, skip.record_key) == ("customers", str(bad_customer["id"]))
    assert "Skipped from now on" in client.get(detail).text

    retried = post(client, f"{detail}/retry")
    assert "Done, with problems" in retried.text
    with runtime.db.transaction(owner.company_id, write=False) as session:
        latest = session.scalars(
            select(SyncLog).order_by(SyncLog.started_at.desc()).limit(1)
        ).one()
    assert (latest.failed_count, latest.created_count) == (1, 0)
    assert [e["stream"] for e in latest.errors] == ["products"]
    assert latest.details["streams"]["customers"]["read"]["skipped"] == 1


def test_failed_auth_sync_offers_reconnect_not_retry(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store, api_key="revoked")
    log = log_of(runtime, owner, request(runtime, owner, iid))

    page = client.get(f"/app/integrations/logs/{log.id}")

    assert "Reconnect Test Store: the key or token was changed or revoked." in page.text
    assert f"/app/integrations/systems/{iid}#reconnect" in page.text
    assert "/retry" not in page.text


def test_failed_sync_retry_resumes_and_succeeds(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store)
    store.fail_next(2, 404)  # both streams fail: the run fails
    log = log_of(runtime, owner, request(runtime, owner, iid))
    assert log.status == "failed"

    page = post(client, f"/app/integrations/logs/{log.id}/retry")

    assert "Retrying: the sync continues from where it stopped." in page.text
    assert "Done" in page.text
    with runtime.db.transaction(owner.company_id, write=False) as session:
        row = session.get(Integration, iid)
        assert row is not None
        assert (row.status, row.health) == ("connected", "green")


def test_webhook_batch_is_a_log_row_and_its_failed_event_can_be_skipped(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store)
    with runtime.db.transaction(owner.company_id, write=False) as session:
        row = session.get(Integration, iid)
        assert row is not None
        path = f"/hooks/teststore/{row.callback_token}"
    body = json.dumps({"id": 9, "name": ""}).encode()
    client.post(
        path,
        content=body,
        headers={
            "x-test-topic": "customer.updated",
            "x-test-delivery": "bad-1",
            "x-test-signature": sign(body, "whsec-test-store-1"),
        },
    )
    listing = client.get("/app/integrations/logs")
    assert "Webhook batch" in listing.text
    with runtime.db.transaction(owner.company_id, write=False) as session:
        log = session.scalars(select(SyncLog).where(SyncLog.kind == "webhook")).one()
    detail = client.get(f"/app/integrations/logs/{log.id}")
    assert "Retry the failed events" in detail.text

    post(client, f"/app/integrations/logs/{log.id}/skip", index="0")

    with runtime.db.transaction(owner.company_id, write=False) as session:
        event = session.scalars(select(WebhookInbox)).one()
    assert event.status == "skipped"


FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]


def _logs_with_messages(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.db.transaction(tenant.company_id) as session:
        for n, text in enumerate(FORMULAS):
            log = start_log(session, tenant.company_id, provider="shopify")
            finish_log(
                log,
                status=SyncStatus.FAILED if n % 2 else SyncStatus.SUCCESS,
                message=text,
                created=n,
            )


def test_safe_cell_neutralises_formula_starts() -> None:
    assert [safe_cell(v) for v in FORMULAS] == ["'" + v for v in FORMULAS]
    assert safe_cell("Plain words") == "Plain words"
    assert safe_cell(12) == "12"
    assert safe_cell(None) == ""


def test_csv_export_of_the_filtered_logs_is_formula_safe(
    client: TestClient, runtime: Runtime, owner: Tenant
) -> None:
    _logs_with_messages(runtime, owner)

    everything = client.get("/app/integrations/logs/export.csv")
    failed_only = client.get(
        "/app/integrations/logs/export.csv", params={"status": "failed"}
    )

    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("text/csv")
    assert "attachment" in everything.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(everything.text)))
    assert sorted(r["message"] for r in rows) == sorted("'" + v for v in FORMULAS)
    assert {r["system"] for r in rows} == {"Shopify"}
    failed_rows = list(csv.DictReader(io.StringIO(failed_only.text)))
    assert {r["status"] for r in failed_rows} == {"failed"}
    assert len(failed_rows) == 3


def test_api_export_retry_and_skip(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    _logs_with_messages(runtime, tenant)
    store.add("customers", name="")
    iid = connect_store(runtime, tenant, store)
    partial = log_of(runtime, tenant, request(runtime, tenant, iid))

    exported = client.get(
        "/api/v1/sync-logs/export.csv", params={"system": "shopify"}, headers=headers
    )
    skipped = client.post(
        f"/api/v1/sync-logs/{partial.id}/skip", json={"index": 0}, headers=headers
    )
    retried = client.post(f"/api/v1/sync-logs/{partial.id}/retry", headers=headers)

    assert exported.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == len(FORMULAS)
    assert skipped.json() == {"skipped": "Customer 113"}
    assert retried.status_code == 200
    assert retried.json()["run_id"] is not None
    other = bearer(api_key_for(runtime, make_company(runtime, name="Other")))
    assert (
        client.post(f"/api/v1/sync-logs/{partial.id}/retry", headers=other).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/sync-logs/{uuid.uuid4()}/skip", json={"index": 0}, headers=headers
        ).status_code
        == 404
    )
