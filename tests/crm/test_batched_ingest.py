"""The sync engine's batched path (``upsert_fast``: prefetched lookups,
snapshots of linked customers, deferred inserts written per table) gives
exactly what upserting record by record gives: each case here would break
if the batching lost a customer, a match, a refund or a bad record."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select

from copcca.connectors.shopify import mapping
from copcca.crm.ingest import SNAPSHOT, Ingestor, Snapshot
from copcca.crm.records import SaleRecord
from copcca.models.crm import Customer, ExternalId, Product, Sale, SaleLine
from copcca.models.tenancy import Company
from copcca.models.webhooks import Event
from copcca.runtime import Runtime
from copcca.sync.batch import Batch, FastPathFailed, Item, upsert_fast, upsert_safely
from tests.connectors.shopify.payloads import CUSTOMER, order, refund
from tests.crm.test_sales import ingestor
from tests.helpers import Tenant, make_company


def page(*orders: dict[str, Any]) -> list[Item]:
    return [
        Item(str(o["id"]), f"Order {o['id']}", [mapping.sale_record(o)]) for o in orders
    ]


def buyer(id_: int | None, **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(CUSTOMER)
    out.update(id=id_, **changes)
    return out


def run_pages(
    runtime: Runtime, tenant: Tenant, *pages: list[Item]
) -> tuple[uuid.UUID, list[Batch]]:
    """Each page in its own transaction through the fast path, as the
    engine runs them; the fast path must not fail on good records."""
    batches = []
    with runtime.db.transaction(tenant.company_id) as session:
        integration_id = ingestor(session, tenant.company_id).integration_id
    assert integration_id is not None
    for items in pages:
        with runtime.db.transaction(tenant.company_id) as session:
            company = session.get(Company, tenant.company_id)
            ingest = Ingestor(session, company, integration_id, "shopify")
            batch = Batch()
            upsert_fast(ingest, items, batch)
            batches.append(batch)
    return integration_id, batches


def customers(runtime: Runtime, tenant: Tenant) -> list[Customer]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(Customer).order_by(Customer.created_at)))


def sales(runtime: Runtime, tenant: Tenant) -> list[Sale]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(Sale).order_by(Sale.number)))


def event_types(runtime: Runtime, tenant: Tenant) -> list[str]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return sorted(e.type for e in session.scalars(select(Event)))


def test_the_same_new_customer_twice_in_a_page_is_one_customer(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    second_number = buyer(7, phone="+254 733 000 222")
    _, (batch,) = run_pages(
        runtime,
        tenant,
        page(
            order(id=1, name="#1", customer=buyer(7)),
            order(id=2, name="#2", customer=second_number),
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert customer.phone == "+254712345678"
    assert customer.phones == ["+254712345678", "+254733000111", "+254733000222"]
    assert {s.customer_id for s in sales(runtime, tenant)} == {customer.id}
    types = event_types(runtime, tenant)
    assert (types.count("customer.created"), types.count("customer.updated")) == (
        1,
        1,
    )
    assert batch.read.created == 2


def test_a_new_customer_is_matched_by_phone_later_in_the_same_page(
    runtime: Runtime,
) -> None:
    """The first order's customer is still queued when the second order,
    under another shop id with the same number, matches it and adds an
    email: one customer row, written with both."""
    tenant = make_company(runtime)
    other = buyer(8, phone="254712345678", email="akinyi@example.co.ke", addresses=[])
    _, (batch,) = run_pages(
        runtime,
        tenant,
        page(
            order(id=1, name="#1", customer=buyer(7)),
            order(id=2, name="#2", customer=other),
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert customer.email == "wanjiku.kamau@example.co.ke"
    assert customer.emails == ["wanjiku.kamau@example.co.ke", "akinyi@example.co.ke"]
    assert [s.customer_id for s in sales(runtime, tenant)] == [customer.id] * 2
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        linked = session.scalars(
            select(ExternalId.entity_id).where(ExternalId.entity == "customer")
        ).all()
    assert linked == [customer.id, customer.id]
    types = event_types(runtime, tenant)
    assert (types.count("customer.created"), types.count("customer.updated")) == (
        1,
        1,
    )
    assert batch.read.created == 2


def test_a_queued_link_keeps_the_newest_version_seen_in_its_page(
    runtime: Runtime,
) -> None:
    """A new customer's link is still queued when a newer version of the
    customer arrives, then an older one (out of order, W9): the older one
    changes nothing, and the link is written with the newest version."""
    tenant = make_company(runtime)
    newest = "2025-02-05T10:30:00+03:00"
    run_pages(
        runtime,
        tenant,
        page(
            order(id=1, name="#1", customer=buyer(7)),
            order(id=2, name="#2", customer=buyer(7, updated_at=newest)),
            order(
                id=3,
                name="#3",
                customer=buyer(
                    7, first_name="Akinyi", updated_at="2025-02-04T10:30:00+03:00"
                ),
            ),
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert customer.name == "Wanjiku Kamau"
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        (version,) = session.scalars(
            select(ExternalId.source_updated_at).where(ExternalId.entity == "customer")
        ).all()
    assert version == datetime.fromisoformat(newest)


def test_a_changed_sale_gets_a_customer_created_earlier_in_its_page(
    runtime: Runtime,
) -> None:
    """A guest order later gains a buyer whom an earlier order of the same
    page introduced: the sale changes through the ORM, so the queued
    customer is written first and the fast path holds."""
    tenant = make_company(runtime)
    guest = order(id=1, name="#1", customer=None, email=None, phone=None)
    guest.pop("billing_address", None)
    guest.pop("shipping_address", None)
    claimed = order(id=1, name="#1", updated_at="2025-02-11T09:00:00+03:00")
    _, (_, second) = run_pages(
        runtime,
        tenant,
        page(guest),
        page(order(id=2, name="#2"), claimed),
    )
    (customer,) = customers(runtime, tenant)
    assert [s.customer_id for s in sales(runtime, tenant)] == [customer.id] * 2
    assert (second.read.created, second.read.updated) == (1, 1)


def test_a_new_product_in_two_orders_of_a_page_is_one_product(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    run_pages(runtime, tenant, page(order(id=1, name="#1"), order(id=2, name="#2")))
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        products = session.scalars(select(Product.id)).all()
        lines = session.execute(
            select(SaleLine.sale_id, SaleLine.product_id).order_by(SaleLine.external_id)
        ).all()
        links = session.scalars(
            select(ExternalId.entity_id).where(ExternalId.entity == "product")
        ).all()
    assert len(products) == 2
    assert sorted(links) == sorted(products)
    per_sale: dict[uuid.UUID, list[uuid.UUID | None]] = {}
    for sale_id, product_id in lines:
        per_sale.setdefault(sale_id, []).append(product_id)
    first, second = per_sale.values()
    assert sorted(first) == sorted(second) == sorted(products)  # type: ignore[type-var]
    assert event_types(runtime, tenant).count("product.created") == 2


def test_a_customer_is_matched_by_phone_on_a_later_page(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    run_pages(
        runtime,
        tenant,
        page(order(id=1, name="#1", customer=buyer(7))),
        # Another shop id (a guest checkout), the same number written otherwise.
        page(
            order(
                id=2,
                name="#2",
                customer=buyer(8, phone="254712345678", email=None, addresses=[]),
            )
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert [s.customer_id for s in sales(runtime, tenant)] == [customer.id] * 2


def test_a_returning_customer_is_unchanged_or_updated_in_place(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    run_pages(
        runtime,
        tenant,
        page(order(id=1, name="#1", customer=buyer(7))),
        page(order(id=2, name="#2", customer=buyer(7))),
        page(
            order(id=3, name="#3", customer=buyer(7, first_name="Wanjiru")),
            order(id=4, name="#4", customer=buyer(7, first_name="Wanjiru")),
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert customer.name == "Wanjiru Kamau"
    assert event_types(runtime, tenant).count("customer.updated") == 1
    assert event_types(runtime, tenant).count("customer.created") == 1


def test_a_customer_changed_through_its_phone_is_compared_as_it_now_is(
    runtime: Runtime,
) -> None:
    """Another shop id with the same phone renames the customer; a later
    order in the same page, in the customer's own name, renames it back
    (as record by record would), whatever the prefetched snapshot said."""
    tenant = make_company(runtime)
    run_pages(
        runtime,
        tenant,
        page(order(id=1, name="#1", customer=buyer(7))),
        page(
            order(id=2, name="#2", customer=buyer(8, first_name="Akinyi")),
            order(id=3, name="#3", customer=buyer(7)),
        ),
    )
    (customer,) = customers(runtime, tenant)
    assert customer.name == "Wanjiku Kamau"
    assert event_types(runtime, tenant).count("customer.updated") == 2


def test_a_refund_on_a_later_page_updates_the_sale(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    refunded = order(
        id=1,
        name="#1",
        financial_status="partially_refunded",
        refunds=[refund(466157049, 1, "600.00")],
        updated_at="2025-02-11T09:00:00+03:00",
    )
    _, (_, second) = run_pages(
        runtime, tenant, page(order(id=1, name="#1")), page(refunded)
    )
    (sale,) = sales(runtime, tenant)
    assert (sale.status, sale.refunded_minor) == ("partially_refunded", 60000)
    assert second.read.updated == 1
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        refunded_qty = session.scalars(
            select(SaleLine.refunded_quantity).order_by(SaleLine.external_id)
        ).all()
    assert refunded_qty == [1, 0]
    assert event_types(runtime, tenant).count("sale.updated") == 1


def test_a_guest_order_and_a_deleted_product_take_the_fast_path(
    runtime: Runtime,
) -> None:
    """Nullable references (no customer, no product) in deferred rows."""
    tenant = make_company(runtime)
    guest = order(id=1, name="#1", customer=None, email=None, phone=None)
    guest.pop("billing_address", None)
    guest.pop("shipping_address", None)
    guest["line_items"][1]["variant_id"] = None
    guest["line_items"][1]["sku"] = None
    run_pages(runtime, tenant, page(guest))
    (sale,) = sales(runtime, tenant)
    assert sale.customer_id is None
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        products = session.scalars(
            select(SaleLine.product_id).order_by(SaleLine.external_id)
        ).all()
    assert products[0] is not None
    assert products[1] is None


def test_a_bad_record_fails_the_fast_path_and_only_it_is_skipped(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    bad = SaleRecord(
        external_id="3",
        currency=None,  # type: ignore[arg-type]  # what a broken mapping could give
        total_minor=100,
        sold_at=datetime.now(UTC),
    )
    items = page(order(id=1, name="#1"), order(id=2, name="#2"))
    items.insert(1, Item("3", "Order 3", [bad]))
    integration_id, _ = run_pages(runtime, tenant)
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        ingest = Ingestor(session, company, integration_id, "shopify")
        with pytest.raises(FastPathFailed):
            upsert_fast(ingest, items, Batch())
        session.rollback()
    assert sales(runtime, tenant) == []  # the failed batch left nothing
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        ingest = Ingestor(session, company, integration_id, "shopify")
        batch = Batch()
        upsert_safely(session, ingest, items, batch, "orders")
    assert (len(sales(runtime, tenant)), batch.read.created, batch.read.failed) == (
        2,
        2,
        1,
    )
    assert [s["key"] for s in batch.samples] == ["3"]


def test_ordered_ids_sort_by_creation_time() -> None:
    from copcca.crm.ids import new_id

    first = new_id()
    ids = [new_id() for _ in range(600)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == 600
    assert first.bytes[:6] <= ids[-1].bytes[:6]
    millis = int.from_bytes(first.bytes[:6], "big")
    assert abs(millis / 1000 - datetime.now(UTC).timestamp()) < 60


def test_products_linked_on_an_earlier_page_are_not_looked_up_by_sku(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", seen)
    try:
        run_pages(
            runtime,
            tenant,
            page(order(id=1, name="#1")),
            page(order(id=2, name="#2")),
            page(order(id=3, name="#3")),
        )
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", seen)
    # The first page looks its two new products up by SKU; later pages
    # find them by their links.
    assert len([s for s in statements if "products.sku IN" in s]) == 1
    assert len({line.product_id for line in lines(runtime, tenant)}) == 2


def test_the_customer_snapshot_reads_the_columns_it_names() -> None:
    assert Snapshot._fields[1:] == tuple(column.key for column in SNAPSHOT)
    assert not Customer.__table__.c["name"].nullable  # marks a gone row


def lines(runtime: Runtime, tenant: Tenant) -> list[SaleLine]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(SaleLine)))
