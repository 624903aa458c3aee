"""WooCommerce end to end: the sandbox shop over real HTTP on 127.0.0.1,
the sync engine, the webhook inbox of the real app, and the CRM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.connectors.woocommerce.connector import WooCommerceConnector
from copcca.integrations import service
from copcca.models.crm import Customer, Product, Sale, SaleLine
from copcca.models.integrations import Integration, WebhookInbox
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sandbox.delivery import WebhookSender
from copcca.sandbox.server import serving
from copcca.sandbox.woocommerce.app import create_app
from copcca.sandbox.woocommerce.store import ShopSettings, WooStore
from copcca.sync.context import open_context
from tests.helpers import Tenant, make_company
from tests.sync.helpers import count, integration, log_of, request

ORDERS, CUSTOMERS = 150, 30
SECRET = "woo-webhook-secret-for-tests"


@pytest.fixture
def shop(client: TestClient) -> Iterator[tuple[WooStore, str]]:
    store = WooStore(
        ShopSettings(orders=ORDERS, customers=CUSTOMERS), sender=WebhookSender(client)
    )
    with serving(create_app(store)) as url:
        yield store, url


def connect(runtime: Runtime, tenant: Tenant, store: WooStore, url: str) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        row = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(
                provider="woocommerce",
                credentials={
                    "store_url": url,
                    "consumer_key": store.settings.consumer_key,
                    "consumer_secret": store.settings.consumer_secret,
                    "webhook_secret": SECRET,
                },
                schedule=False,
            ),
        )
        return row.id


def subscribe(runtime: Runtime, tenant: Tenant, iid: uuid.UUID) -> None:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, iid)
        company = session.get(Company, tenant.company_id)
        assert row is not None
        assert company is not None
        address = f"http://testserver/hooks/woocommerce/{row.callback_token}"
    with open_context(runtime.db, runtime.vault, row, company) as ctx:
        assert len(WooCommerceConnector().register_webhooks(ctx, address)) == 6


def test_connect_sync_webhooks_and_refunds(
    runtime: Runtime, shop: tuple[WooStore, str]
) -> None:
    store, url = shop
    tenant = make_company(runtime)
    iid = connect(runtime, tenant, store, url)

    first = request(runtime, tenant, iid)

    assert log_of(runtime, tenant, first).status == "success"
    assert count(runtime, tenant, Sale) == ORDERS
    assert count(runtime, tenant, Product) == 24
    assert count(runtime, tenant, Customer) >= CUSTOMERS

    subscribe(runtime, tenant, iid)
    pings = [d for d in store.sender.recent() if d.topic == "ping"]
    assert len(pings) == 6
    assert {d.status for d in pings} == {200}
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalars(select(WebhookInbox)).all() == []  # pings store nothing

    order = store.place_order(lines=[(11, 2)])
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        sale = session.scalars(select(Sale).where(Sale.number == order["number"])).one()
        assert sale.status == "completed"
        stock = session.scalars(select(Product).where(Product.sku == "WC-001")).one()
        assert stock.stock_qty == store.products.get(11)["stock_quantity"]  # type: ignore[index]

    store.refund(order["id"], quantity=1)
    store.set_status(100_010, "cancelled")
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        sale = session.scalars(select(Sale).where(Sale.number == order["number"])).one()
        assert (sale.status, sale.refunded_minor) == ("partially_refunded", 21500)
        [line] = session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id))
        assert (line.quantity, line.refunded_quantity) == (2, 1)
        old = session.scalars(select(Sale).where(Sale.number == "100010")).one()
        assert old.status == "cancelled"

    again = request(runtime, tenant, iid)
    assert log_of(runtime, tenant, again).created_count == 0
    assert count(runtime, tenant, Sale) == ORDERS + 1


def test_wrong_keys_ask_for_a_reconnect(
    runtime: Runtime, shop: tuple[WooStore, str]
) -> None:
    store, url = shop
    tenant = make_company(runtime)
    iid = connect(runtime, tenant, store, url)
    store.revoke()

    run_id = request(runtime, tenant, iid)

    log = log_of(runtime, tenant, run_id)
    assert (log.status, log.error_kind) == ("failed", "auth")
    assert "REST API key" in (log.fix or "")
    assert integration(runtime, tenant, iid).status == "needs_reconnect"
