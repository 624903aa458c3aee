"""Shopify end to end: the sandbox store over real HTTP on 127.0.0.1, the
sync engine, the webhook inbox of the real app, and the CRM.

connect → first sync → CRM rows; a re-run adds nothing; a new order arrives
by signed webhook and becomes a sale; a refund changes it; an older
delivery changes nothing (W9); the same delivery 100 times at once is one
sale (W7); 10 MB is refused with 413 (W11); a tampered body is 401 (W1); a
revoked token or an uninstalled app asks for a reconnect; a store failing
for a long time ends in a clear failed log and the next good sync works.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.connectors.http import RetryPolicy
from copcca.connectors.shopify import connector as shopify_connector
from copcca.connectors.shopify.connector import ShopifyConnector
from copcca.integrations import service
from copcca.models.crm import Customer, Product, Sale, SaleLine
from copcca.models.integrations import Integration, SyncLog, WebhookInbox
from copcca.models.sync import RunStatus
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sandbox.delivery import WebhookSender
from copcca.sandbox.server import serving
from copcca.sandbox.shopify import seed
from copcca.sandbox.shopify.app import create_app
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from copcca.sync.context import open_context
from tests.helpers import Tenant, make_company
from tests.sync.helpers import count, integration, log_of, request, run_now

ORDERS, CUSTOMERS = 180, 40


@pytest.fixture
def shop(client: TestClient) -> Iterator[tuple[ShopifyStore, str]]:
    """A sandbox store on a loopback port; its webhooks go to the app."""
    store = ShopifyStore(
        StoreSettings(orders=ORDERS, customers=CUSTOMERS), sender=WebhookSender(client)
    )
    with serving(create_app(store)) as url:
        yield store, url


def connect(
    runtime: Runtime, tenant: Tenant, store: ShopifyStore, url: str
) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        row = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(
                provider="shopify",
                credentials={
                    "shop_domain": store.settings.shop_domain,
                    "access_token": store.settings.access_token,
                    "webhook_secret": store.settings.client_secret,
                    "api_base_url": url,
                },
                frequency="realtime",
                schedule=False,
            ),
        )
        return row.id


def subscribe(runtime: Runtime, tenant: Tenant, iid: uuid.UUID) -> str:
    """What connecting does: subscribe the store's webhooks to our inbox."""
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, iid)
        company = session.get(Company, tenant.company_id)
        assert row is not None
        assert company is not None
        address = f"http://testserver/hooks/shopify/{row.callback_token}"
    with open_context(runtime.db, runtime.vault, row, company) as ctx:
        added = ShopifyConnector().register_webhooks(ctx, address)
    assert len(added) == 6
    return address


def snapshot(runtime: Runtime, tenant: Tenant) -> dict[str, list[str]]:
    """The company's CRM rows without ids and timestamps."""
    out: dict[str, list[str]] = {}
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        for model, fields in (
            (Customer, ("name", "phone", "email", "phones", "emails")),
            (Product, ("name", "sku", "price_minor", "stock_qty")),
            (Sale, ("number", "status", "total_minor", "refunded_minor")),
            (SaleLine, ("external_id", "quantity", "refunded_quantity")),
        ):
            rows = session.scalars(select(model))
            out[model.__name__] = sorted(
                repr(tuple(getattr(r, f) for f in fields)) for r in rows
            )
    return out


def sales(runtime: Runtime, tenant: Tenant) -> list[Sale]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(Sale).order_by(Sale.number)))


def sale_by_number(runtime: Runtime, tenant: Tenant, number: str) -> Sale:
    [found] = [s for s in sales(runtime, tenant) if s.number == number]
    return found


def synced(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> tuple[Tenant, uuid.UUID]:
    store, url = shop
    tenant = make_company(runtime)
    iid = connect(runtime, tenant, store, url)
    run_id = request(runtime, tenant, iid)
    assert log_of(runtime, tenant, run_id).status == "success"
    return tenant, iid


def test_connect_and_first_sync_fill_the_crm(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, url = shop
    tenant = make_company(runtime)
    iid = connect(runtime, tenant, store, url)

    run_id = request(runtime, tenant, iid)

    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.failed_count) == ("success", 0)
    variants = sum(len(p["variants"]) for p in store.products.overlay.values())
    assert count(runtime, tenant, Sale) == ORDERS
    assert count(runtime, tenant, Product) == variants
    assert count(runtime, tenant, SaleLine) == sum(
        len(store.orders.get(seed.ORDER_BASE + i)["line_items"])  # type: ignore[index]
        for i in range(1, ORDERS + 1)
    )
    assert count(runtime, tenant, Customer) >= CUSTOMERS
    assert log.details["streams"]["orders"]["read"]["created"] == ORDERS
    cancelled = sale_by_number(runtime, tenant, "#1097")
    refunded = sale_by_number(runtime, tenant, "#1040")
    assert (cancelled.status, refunded.status) == ("cancelled", "partially_refunded")
    assert refunded.refunded_minor > 0
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health) == ("connected", "green")


def test_a_second_sync_creates_nothing(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    tenant, iid = synced(runtime, shop)
    before = snapshot(runtime, tenant)

    run_id = request(runtime, tenant, iid)

    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.created_count, log.updated_count) == ("success", 0, 0)
    assert snapshot(runtime, tenant) == before
    assert count(runtime, tenant, Sale) == ORDERS


def test_a_new_order_arrives_by_webhook_and_the_next_sync_does_not_duplicate_it(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    subscribe(runtime, tenant, iid)

    order = store.place_order(new_customer=True, phone="0711 222 333")

    placed = sale_by_number(runtime, tenant, order["name"])
    assert placed.total_minor == int(order["total_price"].replace(".", ""))
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        buyer = session.get(Customer, placed.customer_id)
        assert buyer is not None
        assert buyer.phone == "+254711222333"
        logs = list(session.scalars(select(SyncLog).where(SyncLog.kind == "webhook")))
    assert logs
    assert all(entry.status == "success" for entry in logs)
    request(runtime, tenant, iid)
    assert count(runtime, tenant, Sale) == ORDERS + 1


def test_a_refund_changes_the_sale_and_an_older_delivery_changes_nothing(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    address = subscribe(runtime, tenant, iid)
    variant = store.products.get(seed.PRODUCT_BASE + 1)["variants"][0]  # type: ignore[index]
    order = store.place_order(lines=[(variant["id"], 2)])
    line = order["line_items"][0]
    store.refund(order["id"], line_item_id=line["id"], quantity=1)
    after_refund = sale_by_number(runtime, tenant, order["name"])
    assert after_refund.status == "partially_refunded"

    # Shopify retries the original orders/create delivery, triggered earlier.
    store.deliver(
        "orders/updated",
        order,
        address,
        triggered_at=store.now() - timedelta(minutes=5),
    )

    again = sale_by_number(runtime, tenant, order["name"])
    assert (again.status, again.refunded_minor) == (
        "partially_refunded",
        after_refund.refunded_minor,
    )
    assert count(runtime, tenant, Sale) == ORDERS + 1


def test_the_same_delivery_a_hundred_times_at_once_is_one_sale(
    client: TestClient, runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    address = subscribe(runtime, tenant, iid)
    order = store.place_order()
    original = next(d for d in store.sender.recent() if d.topic == "orders/create")
    path = address.removeprefix("http://testserver")
    barrier = threading.Barrier(100)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        response = client.post(path, content=original.body, headers=original.headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses == [200] * 100
    assert [s.number for s in sales(runtime, tenant)].count(order["name"]) == 1
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.scalars(
            select(WebhookInbox).where(
                WebhookInbox.event_id == original.headers["X-Shopify-Webhook-Id"]
            )
        ).all()
    assert len(rows) == 1


def test_ten_megabytes_is_413_and_a_tampered_body_is_401(
    client: TestClient, runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    address = subscribe(runtime, tenant, iid)
    path = address.removeprefix("http://testserver")
    huge = json.dumps({"id": 1, "note": "x" * 10_000_000}).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "big"}
    assert client.post(path, content=huge, headers=headers).status_code == 413

    store.faults.update({"tamper_webhooks": True})
    order = store.place_order()
    tampered = next(d for d in store.sender.recent() if d.topic == "orders/create")
    assert tampered.status == 401
    assert order["name"] not in {s.number for s in sales(runtime, tenant)}
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalars(select(WebhookInbox)).all() == []


def test_a_revoked_token_asks_for_a_reconnect(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    store.revoke()

    run_id = request(runtime, tenant, iid)

    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.error_kind) == ("failed", "auth")
    assert "Reconnect" in (log.fix or "")
    conn = integration(runtime, tenant, iid)
    assert (conn.status, conn.health) == ("needs_reconnect", "red")


def test_uninstalling_the_app_asks_for_a_reconnect(
    runtime: Runtime, shop: tuple[ShopifyStore, str]
) -> None:
    store, _ = shop
    tenant, iid = synced(runtime, shop)
    subscribe(runtime, tenant, iid)

    store.uninstall()

    conn = integration(runtime, tenant, iid)
    assert conn.status == "needs_reconnect"
    assert "removed our app" in (conn.health_reason or "")


def test_a_store_failing_for_a_long_time_ends_failed_then_a_good_sync_works(
    runtime: Runtime, shop: tuple[ShopifyStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the waiting is shortened; every try still goes over HTTP.
    fast = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)
    monkeypatch.setattr(shopify_connector, "RETRY", fast)
    store, url = shop
    tenant = make_company(runtime)
    iid = connect(runtime, tenant, store, url)
    store.faults.update({"fail_always": True, "fail_status": 500})

    run_id = request(runtime, tenant, iid)
    status: Any = None
    for _ in range(runtime.settings.sync_max_attempts):
        status = run_now(runtime, tenant, run_id)
        if status == RunStatus.FAILED:
            break
    assert status == RunStatus.FAILED
    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.error_kind) == ("failed", "transient")
    assert log.message.startswith("Shopify had a temporary problem (HTTP 500).")
    assert "tried" in log.message
    assert count(runtime, tenant, Sale) == 0

    store.faults.clear()
    retry_id = request(runtime, tenant, iid, trigger="retry")

    assert log_of(runtime, tenant, retry_id).status == "success"
    assert count(runtime, tenant, Sale) == ORDERS
    assert integration(runtime, tenant, iid).health == "green"
