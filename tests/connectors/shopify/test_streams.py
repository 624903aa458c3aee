"""The Shopify client and streams against the sandbox store: Link paging,
cursors and resume, limits, auth failures and token refresh."""

from __future__ import annotations

from typing import Any

import pytest

from copcca.connectors.errors import AuthError, TransientError
from copcca.connectors.http import ProviderHttp, RetryPolicy
from copcca.connectors.shopify import oauth
from copcca.connectors.shopify.client import ShopifyClient, classify, next_page_info
from copcca.connectors.shopify.connector import ShopifyConnector
from copcca.connectors.shopify.streams import (
    CustomersStream,
    OrdersStream,
    ProductsStream,
)
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from tests.connectors.sandboxes import context, read_all, shopify_client, shopify_config


def make(
    orders: int = 0, customers: int = 0, **config: Any
) -> tuple[ShopifyStore, Any]:
    store = ShopifyStore(StoreSettings(orders=orders, customers=customers))
    http = shopify_client(store)
    return store, context(http, shopify_config(store, **config))


def client_for(store: ShopifyStore, ctx: Any, sleeps: list[float]) -> ShopifyClient:
    http = ProviderHttp(
        ctx.http,
        provider="Shopify",
        classifier=classify,
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=4, base_delay=0.01),
    )
    return ShopifyClient(http, ctx.config)


def test_next_page_info_is_read_from_the_link_header() -> None:
    link = (
        "<https://s.myshopify.com/admin/api/2025-07/orders.json?limit=2&page_info=abc>; "
        'rel="previous", <https://s.myshopify.com/admin/api/2025-07/orders.json?'
        'limit=2&page_info=def>; rel="next"'
    )
    assert next_page_info(link) == "def"
    assert next_page_info(None) is None


def test_orders_stream_reads_every_order_once_in_updated_order() -> None:
    store, ctx = make(orders=620, customers=50)
    records, cursor = read_all(OrdersStream(client_for(store, ctx, []), 250), ctx, {})
    ids = [r["id"] for r in records]
    assert len(ids) == 620 == len(set(ids))
    assert ids == sorted(ids)  # seeded orders: updated_at grows with the id
    assert cursor["page_info"] is None
    assert (
        cursor["updated_at_min"] == cursor["high_water"] == "2025-01-01T03:26:40+00:00"
    )


def test_cancelled_orders_are_included() -> None:
    store, ctx = make(orders=100)
    records, _ = read_all(OrdersStream(client_for(store, ctx, []), 50), ctx, {})
    assert any(r["cancelled_at"] for r in records)  # status=any, not the default open


def test_an_incremental_pass_reads_only_what_changed_since() -> None:
    store, ctx = make(orders=300, customers=20)
    stream = OrdersStream(client_for(store, ctx, []), 100)
    _, cursor = read_all(stream, ctx, {})
    store.refund(5_000_000_010)
    placed = store.place_order()
    again, cursor2 = read_all(stream, ctx, cursor)
    # The boundary order (read again, harmlessly) plus the two changes.
    assert [r["id"] for r in again] == [5_000_000_300, 5_000_000_010, placed["id"]]
    empty, _ = read_all(stream, ctx, cursor2)
    assert len(empty) <= 2  # only the orders at the boundary second


def test_a_crash_resumes_from_the_saved_page_info() -> None:
    store, ctx = make(orders=500)
    stream = OrdersStream(client_for(store, ctx, []), 100)
    pages = stream.pages(ctx, {})
    first = next(pages)
    second = next(pages)
    rest, _ = read_all(stream, ctx, second.cursor)
    ids = [r["id"] for r in first.records + second.records + rest]
    assert ids == sorted(set(ids))
    assert len(ids) == 500


def test_an_unusable_page_info_restarts_from_the_high_water_mark() -> None:
    store, ctx = make(orders=300)
    stream = OrdersStream(client_for(store, ctx, []), 100)
    first = next(stream.pages(ctx, {}))
    broken = {**first.cursor, "page_info": "not-a-cursor"}
    rest, _ = read_all(stream, ctx, broken)
    ids = {r["id"] for r in first.records + rest}
    assert len(ids) == 300


def test_products_carry_the_shops_currency_and_map_per_variant() -> None:
    store, ctx = make()
    stream = ProductsStream(client_for(store, ctx, []))
    records, _ = read_all(stream, ctx, {})
    assert len(records) == 24
    mapped = [m for raw in records for m in stream.map(ctx, raw)]
    assert {m.currency for m in mapped} == {"KES"}
    assert len(mapped) == sum(len(r["variants"]) for r in records)


def test_customers_stream() -> None:
    store, ctx = make(customers=30)
    records, _ = read_all(CustomersStream(client_for(store, ctx, []), 7), ctx, {})
    assert len(records) == 30


def test_429_waits_the_retry_after_shopify_sends() -> None:
    store, ctx = make(orders=5)
    store.faults.update({"throttle_next": 2})
    sleeps: list[float] = []
    client = client_for(store, ctx, sleeps)
    page = client.list_page("orders", filters={"status": "any"})
    assert len(page.items) == 5
    assert sleeps == [2.0, 2.0]  # Retry-After: 2.0, as Shopify sends it


def test_a_nearly_full_call_bucket_makes_us_pause_before_a_429() -> None:
    store, ctx = make(orders=5)
    store.bucket.rate = 0.0  # nothing leaks during the test
    sleeps: list[float] = []
    client = client_for(store, ctx, sleeps)
    for _ in range(37):
        client.list_page("orders")
    assert sleeps == []
    client.list_page("orders")  # 38/40
    assert sleeps == [0.5]


def test_a_burst_of_5xx_is_retried_and_a_long_outage_fails_transient() -> None:
    store, ctx = make(orders=3)
    store.faults.update({"fail_next": 2})
    sleeps: list[float] = []
    assert len(client_for(store, ctx, sleeps).list_page("orders").items) == 3
    assert len(sleeps) == 2
    store.faults.update({"fail_always": True})
    with pytest.raises(TransientError):
        client_for(store, ctx, []).list_page("orders")


def test_a_revoked_token_is_an_auth_error_and_check_says_so() -> None:
    store, ctx = make()
    store.revoke()
    with pytest.raises(AuthError):
        client_for(store, ctx, []).shop()
    result = ShopifyConnector().check(ctx)
    assert not result.ok
    assert result.error_kind == "auth"


def test_bad_credentials_fail_the_check_with_a_fix() -> None:
    _store, ctx = make(access_token="shpat_wrong")
    result = ShopifyConnector().check(ctx)
    assert (result.ok, result.error_kind) == (False, "auth")
    assert result.fix


def test_an_expired_token_is_refreshed_under_the_engines_lock() -> None:
    store, ctx = make()
    token = store.add_token("shpat_expiring", expiring=True)
    ctx.config.update(access_token=token.value, refresh_token=token.refresh_token)
    stored = dict(ctx.config)
    calls: list[str] = []

    def refresh_secrets(needed: Any, renew: Any) -> None:
        # What the engine does: re-read, refresh if still needed, seal, then
        # hand the new secrets to the context.
        calls.append("locked")
        if needed(stored):
            stored.update(renew(stored))
        ctx.config.update(stored)

    ctx.refresh_secrets = refresh_secrets
    store.expire(token.value)
    app = oauth.ShopifyApp(store.settings.client_id, store.settings.client_secret)
    assert ShopifyConnector(app).client(ctx).shop()["name"] == store.settings.name
    assert calls == ["locked"]
    assert stored["access_token"] != token.value
    assert store.token_ok(stored["access_token"])
    assert stored["refresh_token"] != token.refresh_token  # rotated
    assert not store.token_ok(token.value)
