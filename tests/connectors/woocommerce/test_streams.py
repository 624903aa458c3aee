"""WooCommerce client and streams against the sandbox shop."""

from __future__ import annotations

from typing import Any

import pytest

from copcca.connectors.errors import AuthError, RequestError
from copcca.connectors.woocommerce.client import WooClient
from copcca.connectors.woocommerce.connector import WooCommerceConnector
from copcca.connectors.woocommerce.streams import (
    CustomersStream,
    OrdersStream,
    ProductsStream,
)
from copcca.sandbox.woocommerce.store import ShopSettings, WooStore
from tests.connectors.sandboxes import context, read_all, woo_client, woo_config


def make(orders: int = 0, customers: int = 0, **config: Any) -> tuple[WooStore, Any]:
    store = WooStore(ShopSettings(orders=orders, customers=customers))
    return store, context(woo_client(store), woo_config(store, **config))


def test_orders_pass_reads_every_order_once_with_refund_details() -> None:
    _store, ctx = make(orders=450, customers=40)
    records, cursor = read_all(OrdersStream(WooClient.from_context(ctx)), ctx, {})
    ids = [r["id"] for r in records]
    assert len(ids) == 450 == len(set(ids))
    assert ids == sorted(ids)
    refunded = [r for r in records if r["refunds"]]
    assert refunded
    assert all("_refund_details" in r for r in refunded)
    assert cursor["page"] == 1
    assert cursor["modified_after"]


def test_a_change_while_paging_is_not_skipped() -> None:
    store, ctx = make(orders=300)
    stream = OrdersStream(WooClient.from_context(ctx))
    pages = stream.pages(ctx, {})
    seen = [r["id"] for r in next(pages).records]
    store.set_status(100_001, "completed")  # an order already read changes
    for page in pages:
        seen += [r["id"] for r in page.records]
    assert sorted(seen) == list(range(100_001, 100_301))  # nothing skipped


def test_the_next_pass_reads_only_changes() -> None:
    store, ctx = make(orders=120)
    stream = OrdersStream(WooClient.from_context(ctx))
    _, cursor = read_all(stream, ctx, {})
    placed = store.place_order()
    again, _ = read_all(stream, ctx, cursor)
    assert [r["id"] for r in again] == [placed["id"]]


def test_products_and_currency() -> None:
    _store, ctx = make()
    stream = ProductsStream(WooClient.from_context(ctx))
    records, _ = read_all(stream, ctx, {})
    mapped = [stream.map(ctx, r)[0] for r in records]
    assert len(mapped) == 24
    assert {m.currency for m in mapped} == {"KES"}


def test_customers_full_pass_then_only_new_ones() -> None:
    store, ctx = make(customers=230)
    stream = CustomersStream(WooClient.from_context(ctx))
    full, cursor = read_all(stream, ctx, {})
    assert len(full) == 230
    assert cursor["max_id"] == 230
    assert cursor["full_pass_at"]
    new = store.create_customer(phone="0700 000 001")
    again, cursor2 = read_all(stream, ctx, cursor)
    assert [c["id"] for c in again] == [new["id"]]
    assert cursor2["max_id"] == new["id"]
    nothing, _ = read_all(stream, ctx, cursor2)
    assert nothing == []


def test_customers_full_pass_comes_back_after_a_day() -> None:
    _store, ctx = make(customers=5)
    stream = CustomersStream(WooClient.from_context(ctx))
    _, cursor = read_all(stream, ctx, {})
    old = {**cursor, "full_pass_at": "2020-01-01T00:00:00+00:00"}
    again, _ = read_all(stream, ctx, old)
    assert len(again) == 5


def test_a_host_that_strips_the_authorization_header_gets_the_query_form() -> None:
    store, ctx = make(orders=3)
    store.settings.strip_authorization = True
    result = WooCommerceConnector().check(ctx)
    assert result.ok
    assert result.details["query_auth"] is True


def test_bad_keys_fail_the_check_with_the_plain_fix() -> None:
    _store, ctx = make(consumer_secret="cs_wrong")
    result = WooCommerceConnector().check(ctx)
    assert (result.ok, result.error_kind) == (False, "auth")
    assert "REST API key" in (result.fix or "")


def test_plain_http_to_a_remote_shop_is_refused() -> None:
    _store, ctx = make(store_url="http://shop.example.com")
    with pytest.raises(RequestError, match="https"):
        WooClient.from_context(ctx).list_page("orders", {})


def test_revoked_keys_are_an_auth_error() -> None:
    store, ctx = make(orders=1)
    store.revoke()
    with pytest.raises(AuthError):
        WooClient.from_context(ctx).list_page("orders", {})
