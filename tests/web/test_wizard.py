"""The connect wizard as a shop owner uses it, through the pages: live
check before saving, choose data with a real preview, frequency, first
sync with progress; sync now, check, reconnect; OAuth sign-in."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.models.crm import Customer, Product
from copcca.models.integrations import Integration
from copcca.runtime import Runtime
from copcca.sync import oauth
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import Tenant, login, make_company, page_csrf
from tests.sync.helpers import count


@pytest.fixture
def owner(client: TestClient, runtime: Runtime) -> Tenant:
    tenant = make_company(runtime)
    login(client, tenant.email)
    return tenant


def integrations(runtime: Runtime, tenant: Tenant) -> list[Integration]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(Integration)))


def step1(client: TestClient, store: TestStore, api_key: str) -> httpx.Response:
    return client.post(
        "/app/integrations/connect/teststore",
        data={
            "csrf_token": page_csrf(client, "/app/integrations/connect/teststore"),
            "cfg_base_url": store.url,
            "cfg_api_key": api_key,
            "name": "My test shop",
        },
        follow_redirects=False,
    )


def test_wrong_key_is_said_plainly_and_nothing_is_saved(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    response = step1(client, store, "wrong")

    assert response.status_code == 422
    text = response.text
    assert "Test Store refused our credentials (HTTP 401)." in text
    assert "Reconnect Test Store: the key or token was changed or revoked." in text
    assert "wrong" not in text  # the secret is not echoed back
    assert integrations(runtime, owner) == []


def test_four_steps_from_key_to_first_sync(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    first = step1(client, store, store.api_key)
    assert first.status_code == 303
    [saved] = integrations(runtime, owner)
    assert (saved.status, saved.next_sync_at) == ("connected", None)
    setup = f"/app/integrations/systems/{saved.id}/setup"
    assert first.headers["location"] == f"{setup}/data"

    data = client.get(f"{setup}/data")
    assert "People who bought from the store." in data.text
    assert "Preview 10 records" in data.text
    preview = client.get(f"{setup}/data", params={"preview": "customers"})
    assert [f"Customer {n}" for n in range(10)] == re.findall(
        r"<b>(Customer \d+)</b>", preview.text
    )
    assert count(runtime, owner, Customer) == 0  # nothing written by a preview

    chosen = client.post(
        f"{setup}/data",
        data={"csrf_token": page_csrf(client, f"{setup}/data"), "streams": "products"},
        follow_redirects=False,
    )
    assert chosen.headers["location"] == f"{setup}/frequency"
    often = client.post(
        f"{setup}/frequency",
        data={
            "csrf_token": page_csrf(client, f"{setup}/frequency"),
            "frequency": "daily",
        },
        follow_redirects=False,
    )
    assert often.headers["location"] == f"{setup}/start"
    started = client.post(
        f"{setup}/start",
        data={"csrf_token": page_csrf(client, f"{setup}/start")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    progress = client.get(started.headers["location"])

    assert "Done" in progress.text
    assert 'http-equiv="refresh"' not in progress.text  # finished: no refresh
    assert "Products: 7 new, 0 updated, 0 already up to date." in progress.text
    assert count(runtime, owner, Product) == 7
    assert count(runtime, owner, Customer) == 0  # not chosen
    [done] = integrations(runtime, owner)
    assert (done.streams, done.frequency, done.health) == (
        ["products"],
        "daily",
        "green",
    )
    assert done.next_sync_at is not None


def test_progress_page_refreshes_itself_while_waiting(
    client: TestClient,
    runtime: Runtime,
    store: TestStore,
    owner: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("copcca.sync.tasks.deliver_run", lambda *_a: None)
    iid = connect_store(runtime, owner, store)
    here = f"/app/integrations/systems/{iid}"

    response = client.post(
        here,
        data={"csrf_token": page_csrf(client, here), "action": "sync"},
        follow_redirects=False,
    )
    page = client.get(response.headers["location"])

    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page.text
    assert f'data-poll="/api/v1/integrations/{iid}/runs/' in page.text
    assert "Waiting to start" in page.text


def test_sync_now_check_and_reconnect_from_the_system_page(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store, api_key="revoked")
    here = f"/app/integrations/systems/{iid}"

    checked = client.post(
        here,
        data={"csrf_token": page_csrf(client, here), "action": "check"},
        follow_redirects=True,
    )
    assert "Test Store refused our credentials (HTTP 401)." in checked.text
    assert "Needs reconnecting" in checked.text
    assert 'value="sync"' not in checked.text  # no Sync now until reconnected

    still_bad = client.post(
        here,
        data={
            "csrf_token": page_csrf(client, here),
            "action": "credentials",
            "cfg_api_key": "nope",
        },
        follow_redirects=True,
    )
    assert "refused our credentials" in still_bad.text
    assert integrations(runtime, owner)[0].status == "needs_reconnect"

    fixed = client.post(
        here,
        data={
            "csrf_token": page_csrf(client, here),
            "action": "credentials",
            "cfg_api_key": store.api_key,
        },
        follow_redirects=False,
    )
    assert fixed.headers["location"] == here
    [row] = integrations(runtime, owner)
    assert (row.status, row.health) == ("connected", "grey")

    synced = client.post(
        here,
        data={"csrf_token": page_csrf(client, here), "action": "sync"},
        follow_redirects=True,
    )
    assert "Done" in synced.text
    assert count(runtime, owner, Customer) == 12


def test_oauth_sign_in_creates_a_checked_connection(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    start = client.post(
        "/app/integrations/connect/teststore/oauth",
        data={
            "csrf_token": page_csrf(client, "/app/integrations/connect/teststore"),
            "cfg_base_url": store.url,
        },
        follow_redirects=False,
    )
    assert start.status_code == 303
    target = urlsplit(start.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == store.url
    assert target.path == "/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert (
        query["redirect_uri"]
        == "http://testserver/app/integrations/oauth/teststore/callback"
    )
    assert oauth.COOKIE in start.cookies

    back = client.get(
        "/app/integrations/oauth/teststore/callback",
        params={"code": store.issue_code(), "state": query["state"]},
        follow_redirects=False,
    )

    assert back.status_code == 303, back.text
    [row] = integrations(runtime, owner)
    assert back.headers["location"] == f"/app/integrations/systems/{row.id}/setup/data"
    assert row.status == "connected"
    assert "api_key" not in row.config  # the token is sealed, not plain config


def test_oauth_callback_with_a_forged_state_is_refused(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    client.post(
        "/app/integrations/connect/teststore/oauth",
        data={
            "csrf_token": page_csrf(client, "/app/integrations/connect/teststore"),
            "cfg_base_url": store.url,
        },
        follow_redirects=False,
    )

    forged = client.get(
        "/app/integrations/oauth/teststore/callback",
        params={"code": store.issue_code(), "state": uuid.uuid4().hex},
    )

    assert forged.status_code == 400
    assert "This sign-in expired or was not started here." in forged.text
    assert integrations(runtime, owner) == []


def test_provider_without_live_sync_keeps_the_honest_save_only_form(
    client: TestClient, runtime: Runtime, owner: Tenant
) -> None:
    form = client.get("/app/integrations/connect/odoo")
    assert "Live sync for Odoo is still being built." in form.text

    saved = client.post(
        "/app/integrations/connect/odoo",
        data={
            "csrf_token": page_csrf(client, "/app/integrations/connect/odoo"),
            "cfg_url": "https://duka.odoo.com",
            "cfg_database": "duka",
            "cfg_username": "amina",
            "cfg_api_key": "k-123",
        },
        follow_redirects=False,
    )

    assert saved.status_code == 303
    [row] = integrations(runtime, owner)
    assert saved.headers["location"] == f"/app/integrations/systems/{row.id}"
    assert row.status == "saved"
