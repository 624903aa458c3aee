"""The sandbox WooCommerce shop behaves like REST v3 (providers.md §7, §19):
X-WP-Total / X-WP-TotalPages / Link paging, the page-past-the-end 400,
date filters, both auth forms, the unsigned creation ping and signed
deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from copcca.sandbox.delivery import WebhookSender
from copcca.sandbox.woocommerce.app import create_app
from copcca.sandbox.woocommerce.store import ShopSettings, WooStore
from tests.connectors.sandboxes import Recorder

API = "/wp-json/wc/v3"


def setup(
    orders: int = 0, customers: int = 0, **kw: Any
) -> tuple[WooStore, TestClient]:
    store = WooStore(ShopSettings(orders=orders, customers=customers), **kw)
    client = TestClient(create_app(store), base_url="http://127.0.0.1:8080")
    client.auth = (store.settings.consumer_key, store.settings.consumer_secret)
    return store, client


def test_paging_headers_and_links() -> None:
    _, c = setup(orders=25)
    r = c.get(
        f"{API}/orders",
        params={"per_page": 10, "page": 2, "orderby": "id", "order": "asc"},
    )
    assert (r.headers["x-wp-total"], r.headers["x-wp-totalpages"]) == ("25", "3")
    assert [o["id"] for o in r.json()] == list(range(100_011, 100_021))
    assert 'rel="prev"' in r.headers["link"]
    assert 'rel="next"' in r.headers["link"]
    assert "orderby=id" in r.headers["link"]  # Woo links keep every parameter
    past = c.get(f"{API}/orders", params={"per_page": 10, "page": 4})
    assert past.status_code == 400
    assert past.json()["code"] == "woocommerce_rest_invalid_page_number"


def test_default_order_is_newest_first_and_per_page_is_capped() -> None:
    _, c = setup(orders=5)
    assert [o["id"] for o in c.get(f"{API}/orders").json()][:2] == [100_005, 100_004]
    assert c.get(f"{API}/orders", params={"per_page": 101}).status_code == 400


def test_modified_after_is_strict_and_dates_can_be_local_or_gmt() -> None:
    _, c = setup(orders=10)
    gmt = c.get(
        f"{API}/orders",
        params={
            "modified_after": "2025-01-01T00:02:00",
            "dates_are_gmt": "true",
            "orderby": "id",
            "order": "asc",
        },
    )
    assert [o["id"] for o in gmt.json()] == list(
        range(100_007, 100_011)
    )  # 6 is at 00:02:00
    local = c.get(
        f"{API}/orders",
        params={
            "modified_after": "2025-01-01T03:02:00",
            "orderby": "id",
            "order": "asc",
        },
    )
    assert local.json() == gmt.json()


def test_customers_have_no_date_filter() -> None:
    _, c = setup(customers=3)
    r = c.get(
        f"{API}/customers",
        params={"modified_after": "2030-01-01T00:00:00", "orderby": "id"},
    )
    assert len(r.json()) == 3  # ignored, as in WooCommerce


def test_basic_and_query_auth_and_refusals() -> None:
    store, c = setup(orders=1)
    assert c.get(f"{API}/orders").status_code == 200
    bare = TestClient(create_app(store), base_url="http://127.0.0.1:8080")
    assert bare.get(f"{API}/orders").json()["code"] == "woocommerce_rest_cannot_view"
    query = {
        "consumer_key": store.settings.consumer_key,
        "consumer_secret": store.settings.consumer_secret,
    }
    assert bare.get(f"{API}/orders", params=query).status_code == 200
    wrong = bare.get(f"{API}/orders", auth=(store.settings.consumer_key, "cs_nope"))
    assert wrong.json()["code"] == "woocommerce_rest_authentication_error"
    store.settings.strip_authorization = True
    assert c.get(f"{API}/orders").json()["code"] == "woocommerce_rest_cannot_view"


def test_creating_a_webhook_pings_unsigned_then_changes_are_signed() -> None:
    hub = Recorder()
    fixed = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    _store, c = setup(
        sender=WebhookSender(httpx.Client(transport=hub)), clock=lambda: fixed
    )
    hook = c.post(
        f"{API}/webhooks",
        json={
            "topic": "order.created",
            "secret": "s3cret",
            "delivery_url": "https://hub.test/w",
        },
    )
    assert hook.status_code == 201
    assert "secret" not in hook.json()
    ping = hub.requests[0]
    assert ping.content == f"webhook_id={hook.json()['id']}".encode()
    assert "x-wc-webhook-signature" not in ping.headers
    c.post("/_sandbox/orders", json={})
    c.post("/_sandbox/orders", json={})
    first, second = hub.requests[1], hub.requests[2]
    expected = base64.b64encode(
        hmac.new(b"s3cret", first.content, hashlib.sha256).digest()
    ).decode()
    assert first.headers["x-wc-webhook-signature"] == expected
    assert first.headers["x-wc-webhook-topic"] == "order.created"
    # Same webhook, same second: WooCommerce's delivery ids collide.
    assert (
        first.headers["x-wc-webhook-delivery-id"]
        == second.headers["x-wc-webhook-delivery-id"]
    )
    assert first.content != second.content


def test_refunds_endpoint_and_stock() -> None:
    _store, c = setup(orders=40)
    refunds = c.get(f"{API}/orders/100040/refunds").json()
    assert refunds[0]["line_items"][0]["quantity"] == -1
    product = c.get(f"{API}/products", params={"orderby": "id", "order": "asc"}).json()[
        0
    ]
    c.post("/_sandbox/orders", json={"lines": [[product["id"], 2]]})
    after = c.get(f"{API}/products/{product['id']}").json()
    assert product["manage_stock"] is True
    assert after["stock_quantity"] == product["stock_quantity"] - 2


def test_a_hundred_thousand_orders_with_flat_memory() -> None:
    _, c = setup(orders=100_000, customers=10_000)
    tracemalloc.start()
    try:
        r = c.get(
            f"{API}/orders",
            params={"per_page": 100, "page": 990, "orderby": "id", "order": "asc"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.json()[0]["id"] == 100_000 + 98_901
    assert r.headers["x-wp-totalpages"] == "1000"
    assert peak < 20_000_000
