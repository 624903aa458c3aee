"""Overview health from real sync outcomes, each with its one-click fix."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from copcca.db.base import utcnow
from copcca.models.integrations import Integration
from copcca.runtime import Runtime
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import Tenant, api_key_for, bearer, login, make_company, page_csrf
from tests.sync.helpers import log_of, request


@pytest.fixture
def owner(client: TestClient, runtime: Runtime) -> Tenant:
    tenant = make_company(runtime)
    login(client, tenant.email)
    return tenant


def attention(client: TestClient) -> str:
    page = client.get("/app/integrations/").text
    found = re.search(
        r'<ul class="list" data-testid="attention">(.*?)</ul>', page, re.S
    )
    return found.group(1) if found else ""


def health_counts(
    client: TestClient, runtime: Runtime, tenant: Tenant
) -> dict[str, int]:
    stats = client.get(
        "/api/v1/integration-stats", headers=bearer(api_key_for(runtime, tenant))
    ).json()
    return {k: v for k, v in stats["health"].items() if v}


def test_a_good_sync_is_green_and_needs_nothing(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    request(runtime, owner, connect_store(runtime, owner, store))

    assert attention(client) == ""
    assert health_counts(client, runtime, owner) == {"green": 1}


def test_partial_failures_are_orange_with_a_link_to_the_problems(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    store.add("customers", name="")
    iid = connect_store(runtime, owner, store)
    log = log_of(runtime, owner, request(runtime, owner, iid))

    block = attention(client)

    assert "1 records from Test Store could not be brought in." in block
    assert f'href="/app/integrations/logs/{log.id}">See the problems' in block
    assert health_counts(client, runtime, owner) == {"orange": 1}


def test_throttling_is_orange_and_says_nothing_is_wrong(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    store.fail_next(1, 429, {"Retry-After": "0.01"})
    request(runtime, owner, connect_store(runtime, owner, store))

    block = attention(client)

    assert "asked us to slow down 1 times; everything synced, just slower." in block
    assert "See the log" in block


def test_a_waiting_retry_is_orange_with_try_now(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    store.fail_next(3, 503)
    request(runtime, owner, connect_store(runtime, owner, store))

    block = attention(client)

    assert "Test Store had a temporary problem (HTTP 503). Trying again at" in block
    assert 'value="sync">Try now' in block


def test_refused_credentials_are_red_with_reconnect(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store, api_key="revoked")
    request(runtime, owner, iid)

    block = attention(client)

    assert (
        f'href="/app/integrations/systems/{iid}#reconnect">Reconnect Test Store'
        in block
    )
    assert health_counts(client, runtime, owner) == {"red": 1}


def test_failing_is_red_and_retry_now_fixes_it_in_one_click(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store)
    store.fail_next(2, 404)
    request(runtime, owner, iid)
    assert 'value="sync">Retry now' in attention(client)

    client.post(
        f"/app/integrations/systems/{iid}",
        data={"csrf_token": page_csrf(client), "action": "sync"},
    )

    assert attention(client) == ""
    assert health_counts(client, runtime, owner) == {"green": 1}


def test_access_ending_soon_is_orange_with_reconnect(
    client: TestClient, runtime: Runtime, store: TestStore, owner: Tenant
) -> None:
    iid = connect_store(runtime, owner, store)
    request(runtime, owner, iid)
    ends = utcnow() + timedelta(days=3)
    with runtime.db.transaction(owner.company_id) as session:
        row = session.get(Integration, iid)
        assert row is not None
        row.token_expires_at = ends

    block = attention(client)

    assert (
        f"Access to Test Store ends on {ends.date().isoformat()} unless you reconnect."
        in block
    )
    assert "#reconnect" in block
    assert health_counts(client, runtime, owner) == {"orange": 1}
