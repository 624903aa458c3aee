"""Sync, check, streams, preview and run progress over the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copcca.models.crm import Customer
from copcca.runtime import Runtime
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import api_key_for, bearer, make_company
from tests.sync.helpers import count


def test_sync_now_starts_a_run_and_its_progress_reads_back(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    headers = bearer(api_key_for(runtime, tenant))

    started = client.post(f"/api/v1/integrations/{iid}/sync", headers=headers)

    assert started.status_code == 202, started.text
    body = started.json()
    assert body["created"] is True
    run = client.get(body["progress_url"], headers=headers)
    assert run.status_code == 200
    data = run.json()
    assert (data["status"], data["created"], data["failed"]) == ("succeeded", 19, 0)
    assert data["message"].startswith("Customers: 12 new")
    assert data["streams"]["customers"]["read"]["created"] == 12
    assert count(runtime, tenant, Customer) == 12


def test_full_resync_over_the_api_creates_nothing_new(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    headers = bearer(api_key_for(runtime, tenant))
    client.post(f"/api/v1/integrations/{iid}/sync", headers=headers)

    again = client.post(
        f"/api/v1/integrations/{iid}/sync", json={"full": True}, headers=headers
    )

    run = client.get(again.json()["progress_url"], headers=headers).json()
    assert (run["status"], run["created"], run["skipped"]) == ("succeeded", 0, 19)


def test_sync_is_refused_plainly_when_paused_or_not_built(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    headers = bearer(api_key_for(runtime, tenant))
    client.patch(f"/api/v1/integrations/{iid}", json={"paused": True}, headers=headers)
    odoo = client.post(
        "/api/v1/integrations",
        json={
            "provider": "odoo",
            "credentials": {
                "url": "https://duka.odoo.com",
                "database": "duka",
                "username": "amina",
                "api_key": "k",
            },
        },
        headers=headers,
    ).json()

    paused = client.post(f"/api/v1/integrations/{iid}/sync", headers=headers)
    unbuilt = client.post(f"/api/v1/integrations/{odoo['id']}/sync", headers=headers)

    assert (paused.status_code, paused.json()["fix"]) == (
        409,
        "Resume it, then press Sync now.",
    )
    assert unbuilt.status_code == 409
    assert unbuilt.json()["message"] == "Live sync for Odoo is not built yet."


def test_check_reports_live_and_marks_refused_credentials(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    good = connect_store(runtime, tenant, store)
    bad = connect_store(runtime, tenant, store, api_key="nope", name="Second shop")
    headers = bearer(api_key_for(runtime, tenant))

    ok = client.post(f"/api/v1/integrations/{good}/check", headers=headers).json()
    refused = client.post(f"/api/v1/integrations/{bad}/check", headers=headers).json()

    assert ok == {
        "ok": True,
        "message": "Connected to the Test Store.",
        "error_kind": None,
        "fix": None,
    }
    assert (refused["ok"], refused["error_kind"]) == (False, "auth")
    shown = client.get(f"/api/v1/integrations/{bad}", headers=headers).json()
    assert (shown["status"], shown["health"]) == ("needs_reconnect", "red")
    assert client.get(f"/api/v1/integrations/{good}", headers=headers).json()[
        "status"
    ] == ("connected")


def test_streams_and_preview_show_real_records_and_write_nothing(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    headers = bearer(api_key_for(runtime, tenant))

    streams = client.get(f"/api/v1/integrations/{iid}/streams", headers=headers)
    preview = client.get(
        f"/api/v1/integrations/{iid}/preview",
        params={"stream": "customers"},
        headers=headers,
    )

    assert [s["name"] for s in streams.json()] == ["customers", "products"]
    assert preview.status_code == 200
    records = preview.json()["records"]
    assert len(records) == 10
    assert records[0] == {
        "label": "Customer 0",
        "entity": "customers",
        "fields": {
            "Name": "Customer 0",
            "Phone": "0700000000",
            "Email": "c0@example.co.ke",
        },
    }
    assert count(runtime, tenant, Customer) == 0
    unknown = client.get(
        f"/api/v1/integrations/{iid}/preview", params={"stream": "x"}, headers=headers
    )
    assert unknown.status_code == 404


def test_preview_with_refused_credentials_is_a_plain_502(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, api_key="nope")
    headers = bearer(api_key_for(runtime, tenant))

    response = client.get(
        f"/api/v1/integrations/{iid}/preview",
        params={"stream": "products"},
        headers=headers,
    )

    assert response.status_code == 502
    assert (
        response.json()["message"] == "Test Store refused our credentials (HTTP 401)."
    )


def test_another_company_cannot_sync_or_read_runs(
    client: TestClient, runtime: Runtime, store: TestStore
) -> None:
    owner = make_company(runtime)
    iid = connect_store(runtime, owner, store)
    started = client.post(
        f"/api/v1/integrations/{iid}/sync", headers=bearer(api_key_for(runtime, owner))
    ).json()
    other = bearer(api_key_for(runtime, make_company(runtime, name="Other")))

    assert (
        client.post(f"/api/v1/integrations/{iid}/sync", headers=other).status_code
        == 404
    )
    assert client.get(started["progress_url"], headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/integrations/{iid}/check", headers=other).status_code
        == 404
    )
