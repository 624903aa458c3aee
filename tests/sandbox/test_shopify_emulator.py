"""The sandbox Shopify store behaves like the documented API (providers.md
§6, §19): Link paging whose page_info drops the filters, 429 with
Retry-After 2.0 and the call-limit header, 5xx bursts, token expiry and
revocation, OAuth with a signed redirect, and signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import tracemalloc
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from copcca.connectors.errors import WebhookRejected
from copcca.connectors.shopify import oauth, webhooks
from copcca.connectors.shopify.client import next_page_info
from copcca.sandbox.delivery import WebhookSender
from copcca.sandbox.shopify.app import create_app
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from tests.connectors.sandboxes import Recorder

API = "/admin/api/2025-07"


def setup(
    orders: int = 0, customers: int = 0, **kw: Any
) -> tuple[ShopifyStore, TestClient]:
    store = ShopifyStore(StoreSettings(orders=orders, customers=customers), **kw)
    client = TestClient(create_app(store), base_url="http://shop.test")
    client.headers["X-Shopify-Access-Token"] = store.settings.access_token
    return store, client


def test_link_header_page_info_drops_the_other_filters() -> None:
    _, c = setup(orders=10)
    first = c.get(
        f"{API}/orders.json",
        params={"limit": 3, "status": "any", "updated_at_min": "2025-01-01T00:00:00Z"},
    )
    assert first.status_code == 200
    [(url, rel)] = [
        (u.strip("<> "), r)
        for u, r in (part.split(";") for part in first.headers["link"].split(","))
    ]
    assert 'rel="next"' in rel
    assert dict(parse_qsl(urlsplit(url).query)).keys() == {"limit", "page_info"}
    second = c.get(url)
    assert [o["id"] for o in second.json()["orders"]] == [
        5_000_000_004,
        5_000_000_005,
        5_000_000_006,
    ]
    assert 'rel="previous"' in second.headers["link"]


def test_page_info_with_another_filter_is_a_400() -> None:
    _, c = setup(orders=10)
    first = c.get(f"{API}/orders.json", params={"limit": 3})
    token = next_page_info(first.headers["link"])
    bad = c.get(f"{API}/orders.json", params={"page_info": token, "status": "any"})
    assert bad.status_code == 400
    assert "page_info" in bad.json()["errors"]


def test_previous_link_returns_the_page_before() -> None:
    _, c = setup(orders=9)
    p1 = c.get(f"{API}/orders.json", params={"limit": 3})
    p2 = c.get(
        f"{API}/orders.json",
        params={"limit": 3, "page_info": next_page_info(p1.headers["link"])},
    )
    prev_url = next(
        x.split(";")[0].strip(" <>")
        for x in p2.headers["link"].split(",")
        if 'rel="previous"' in x
    )
    assert c.get(prev_url).json()["orders"] == p1.json()["orders"]


def test_limit_above_250_is_refused() -> None:
    _, c = setup(orders=1)
    assert c.get(f"{API}/orders.json", params={"limit": 251}).status_code == 400


def test_the_bucket_throttles_with_retry_after_and_call_limit() -> None:
    store, c = setup(orders=1)
    store.bucket.rate = 0.0
    limits = [
        c.get(f"{API}/shop.json").headers["x-shopify-shop-api-call-limit"]
        for _ in range(40)
    ]
    assert limits[0] == "1/40"
    assert limits[-1] == "40/40"
    refused = c.get(f"{API}/shop.json")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2.0"
    assert refused.headers["x-shopify-shop-api-call-limit"] == "40/40"


def test_fault_switches() -> None:
    store, c = setup()
    store.faults.update({"fail_next": 2, "fail_status": 503})
    assert [c.get(f"{API}/shop.json").status_code for _ in range(3)] == [503, 503, 200]
    c.post("/_sandbox/faults", json={"fail_always": True, "fail_status": 500})
    assert c.get(f"{API}/shop.json").status_code == 500
    c.delete("/_sandbox/faults")
    assert c.get(f"{API}/shop.json").status_code == 200


def test_revoked_and_expired_tokens_get_401() -> None:
    _store, c = setup()
    token = c.post("/_sandbox/tokens", json={"expiring": True}).json()["access_token"]
    assert (
        c.get(f"{API}/shop.json", headers={"X-Shopify-Access-Token": token}).status_code
        == 200
    )
    c.post("/_sandbox/tokens/expire", json={"token": token})
    assert (
        c.get(f"{API}/shop.json", headers={"X-Shopify-Access-Token": token}).status_code
        == 401
    )
    c.post("/_sandbox/tokens/revoke", json={})
    denied = c.get(f"{API}/shop.json")
    assert denied.status_code == 401
    assert "Invalid API key or access token" in denied.json()["errors"]


def test_oauth_redirect_is_signed_so_our_check_accepts_it_and_codes_work_once() -> None:
    store, c = setup()
    app = oauth.ShopifyApp(store.settings.client_id, store.settings.client_secret)
    url = oauth.authorize_url(
        {"api_base_url": "http://shop.test"}, app, "st4te", "https://hub.test/cb"
    )
    redirect = c.get(url, follow_redirects=False)
    assert redirect.status_code == 302
    params = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
    assert params["state"] == "st4te"
    oauth.verify_callback(params, app.client_secret)
    form = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": params["code"],
    }
    token = c.post("/admin/oauth/access_token", data=form).json()["access_token"]
    assert store.token_ok(token)
    assert c.post("/admin/oauth/access_token", data=form).status_code == 400  # used


def test_changes_are_announced_as_signed_webhooks() -> None:
    hub = Recorder()
    store, c = setup(customers=5, sender=WebhookSender(httpx.Client(transport=hub)))
    for topic in ("orders/create", "products/update"):
        c.post(
            f"{API}/webhooks.json",
            json={
                "webhook": {
                    "topic": topic,
                    "address": "https://hub.test/hooks/shopify/t",
                }
            },
        )
    order = c.post("/_sandbox/orders", json={}).json()["order"]
    topics = [r.headers["x-shopify-topic"] for r in hub.requests]
    assert topics[0] == "orders/create"
    assert set(topics[1:]) <= {"products/update"}
    request = hub.requests[0]
    expected = base64.b64encode(
        hmac.new(
            store.settings.client_secret.encode(), request.content, hashlib.sha256
        ).digest()
    ).decode()
    assert request.headers["x-shopify-hmac-sha256"] == expected
    assert json.loads(request.content)["id"] == order["id"]
    webhooks.verify(
        store.settings.client_secret, request.content, dict(request.headers)
    )
    assert request.headers["x-shopify-webhook-id"]
    assert request.headers["x-shopify-triggered-at"]


def test_tamper_mode_breaks_the_signature_and_redelivery_resends_the_same_bytes() -> (
    None
):
    hub = Recorder()
    store, c = setup(sender=WebhookSender(httpx.Client(transport=hub)))
    c.post("/_sandbox/faults", json={"tamper_webhooks": True})
    product_id = store.products.overlay[min(store.products.overlay)]["id"]
    sent = c.post(
        "/_sandbox/webhooks/emit",
        json={
            "topic": "products/update",
            "id": product_id,
            "address": "https://hub.test/h",
        },
    ).json()["deliveries"][0]
    first = hub.requests[0]
    with pytest.raises(WebhookRejected):
        webhooks.verify(
            store.settings.client_secret, first.content, dict(first.headers)
        )
    c.post(f"/_sandbox/deliveries/{sent['id']}/redeliver")
    again = hub.requests[1]
    assert again.content == first.content
    assert (
        again.headers["x-shopify-webhook-id"] == first.headers["x-shopify-webhook-id"]
    )


def test_placing_an_order_lowers_tracked_stock() -> None:
    store, c = setup()
    product = store.products.overlay[min(store.products.overlay)]
    variant = product["variants"][0]
    before = variant["inventory_quantity"]
    c.post("/_sandbox/orders", json={"lines": [[variant["id"], 3]]})
    after = store.products.get(product["id"])
    assert after is not None
    assert after["variants"][0]["inventory_quantity"] == before - 3
    assert variant["inventory_quantity"] == before  # stored copies are never edited


def test_a_hundred_thousand_orders_page_with_flat_memory() -> None:
    store, c = setup(orders=100_000, customers=20_000)
    tracemalloc.start()
    try:
        last = c.get(
            f"{API}/orders.json",
            params={
                "limit": 250,
                "status": "any",
                "order": "updated_at asc",
                "updated_at_min": "2025-01-24T00:00:00Z",
            },
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last.status_code == 200
    assert len(last.json()["orders"]) == 250
    assert peak < 20_000_000  # one page's worth, not the store
    assert len(store.orders.overlay) == 0
