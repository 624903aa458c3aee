"""Sales upsert: an order is one sale with lines, its customer and its
products; refunds and cancellations change it, never duplicate it; older
versions change nothing (W9); events go out in the same transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copcca.connectors.shopify import mapping
from copcca.crm.ingest import Ingestor, Outcome
from copcca.crm.records import CustomerRecord, ProductRecord, SaleLineRecord, SaleRecord
from copcca.crm.sales import SaleRepository
from copcca.models.crm import Customer, Product, Sale, SaleLine
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.models.webhooks import Event
from copcca.runtime import Runtime
from tests.connectors.shopify.payloads import order, refund
from tests.helpers import make_company

T = datetime(2025, 2, 10, 8, 0, tzinfo=UTC)


def ingestor(session: Session, company_id: uuid.UUID) -> Ingestor:
    integration = Integration(
        company_id=company_id,
        provider="shopify",
        name=f"Shop {uuid.uuid4().hex[:6]}",
        category="ecommerce",
    )
    session.add(integration)
    session.flush()
    return Ingestor(
        session, session.get(Company, company_id), integration.id, "shopify"
    )


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def events(session: Session) -> list[str]:
    return sorted(e.type for e in session.scalars(select(Event)))


def lines_of(session: Session, sale_id: uuid.UUID) -> list[SaleLine]:
    return list(
        session.scalars(
            select(SaleLine)
            .where(SaleLine.sale_id == sale_id)
            .order_by(SaleLine.external_id)
        )
    )


def test_an_order_becomes_one_sale_with_lines_customer_and_products(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        result = ingest.upsert(mapping.sale_record(order()))
        assert result.outcome is Outcome.CREATED
        sale = session.get(Sale, result.id)
        assert sale is not None
        assert (sale.number, sale.status, sale.currency) == (
            "#1001",
            "completed",
            "KES",
        )
        assert (sale.total_minor, sale.discount_minor, sale.tax_minor) == (
            190050,
            5000,
            26214,
        )
        assert sale.source == "shopify"
        customer = session.get(Customer, sale.customer_id)
        assert customer is not None
        assert customer.phone == "+254712345678"  # E.164 in the company's region
        assert customer.email == "wanjiku.kamau@example.co.ke"
        lines = lines_of(session, sale.id)
        assert [(ln.quantity, ln.unit_price_minor, ln.total_minor) for ln in lines] == [
            (2, 65000, 125000),
            (1, 65050, 65050),
        ]
        products = {p.id: p for p in session.scalars(select(Product))}
        assert {products[ln.product_id].sku for ln in lines} == {
            "KANGA-RED",
            "KANGA-BLUE",
        }
        assert events(session) == [
            "customer.created",
            "product.created",
            "product.created",
            "sale.created",
        ]


def test_the_same_order_again_changes_nothing(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        first = ingest.upsert(mapping.sale_record(order()))
        before = events(session)
        again = ingest.upsert(mapping.sale_record(order()))
        assert (again.id, again.outcome) == (first.id, Outcome.UNCHANGED)
        assert (count(session, Sale), count(session, SaleLine)) == (1, 2)
        assert events(session) == before


def test_a_refund_updates_the_sale_in_place(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        first = ingest.upsert(mapping.sale_record(order()))
        refunded = order(
            financial_status="partially_refunded",
            refunds=[refund(466157049, 1, "600.00")],
            updated_at="2025-02-11T09:00:00+03:00",
        )
        second = ingest.upsert(mapping.sale_record(refunded))
        assert (second.id, second.outcome) == (first.id, Outcome.UPDATED)
        sale = session.get(Sale, first.id)
        assert sale is not None
        assert (sale.status, sale.refunded_minor) == ("partially_refunded", 60000)
        assert [ln.refunded_quantity for ln in lines_of(session, sale.id)] == [1, 0]
        assert count(session, Sale) == 1
        assert events(session).count("sale.updated") == 1


def test_an_older_version_after_a_newer_one_changes_nothing(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        newer = order(
            cancelled_at="2025-02-12T09:00:00+03:00",
            updated_at="2025-02-12T09:00:00+03:00",
        )
        created = ingest.upsert(mapping.sale_record(newer))
        stale = ingest.upsert(mapping.sale_record(order()))  # updated 2025-02-10
        assert (stale.id, stale.outcome) == (created.id, Outcome.UNCHANGED)
        sale = session.get(Sale, created.id)
        assert sale is not None
        assert sale.status == "cancelled"


def test_customer_matching_external_id_then_phone_then_email(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        by_phone = ingest.upsert(
            CustomerRecord(None, "Baraka", phone="+254 700 111 222")
        )
        by_email = ingest.upsert(
            CustomerRecord(None, "Neema", email="neema@example.co.ke")
        )

        def sale(ext: str, customer: CustomerRecord) -> uuid.UUID | None:
            record = SaleRecord(ext, "KES", 100, T, customer=customer)
            found = session.get(Sale, ingest.upsert(record).id)
            return found.customer_id if found else None

        assert sale("o1", CustomerRecord(None, "B", phone="0700111222")) == by_phone.id
        assert (
            sale("o2", CustomerRecord(None, "N", email="NEEMA@example.co.ke"))
            == by_email.id
        )
        linked = sale("o3", CustomerRecord("c9", "Juma", phone="0711000333"))
        # Same external id, new phone and email: still the same customer.
        assert (
            sale(
                "o4",
                CustomerRecord("c9", "Juma", phone="0799000444", email="j@x.co.ke"),
            )
            == linked
        )
        assert count(session, Customer) == 3


def test_phones_follow_the_companys_region(runtime: Runtime) -> None:
    tenant = make_company(runtime, country="TZ")
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        record = SaleRecord(
            "o1",
            "TZS",
            500000,
            T,
            customer=CustomerRecord(None, "Asha", phone="0754 123 456"),
        )
        sale = session.get(Sale, ingest.upsert(record).id)
        assert sale is not None
        customer = session.get(Customer, sale.customer_id)
        assert customer is not None
        assert customer.phone == "+255754123456"


def test_lines_link_existing_products_by_sku_and_keep_deleted_ones_by_name(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        existing = ingest.upsert(
            ProductRecord(None, "Kanga red", sku="KANGA-RED", stock_qty=7)
        )
        data = order()
        data["line_items"][1].update(variant_id=None, product_id=None, sku=None)
        sale = session.get(Sale, ingest.upsert(mapping.sale_record(data)).id)
        assert sale is not None
        red, blue = lines_of(session, sale.id)
        assert red.product_id == existing.id
        assert blue.product_id is None
        assert blue.name == "Kanga - Blue"
        assert count(session, Product) == 1
        product = session.get(Product, existing.id)
        assert product is not None
        assert product.stock_qty == 7


def test_an_edited_order_loses_a_line(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        first = ingest.upsert(mapping.sale_record(order()))
        edited = order(updated_at="2025-02-10T12:00:00+03:00")
        edited["line_items"] = edited["line_items"][:1]
        assert ingest.upsert(mapping.sale_record(edited)).outcome is Outcome.UPDATED
        assert len(lines_of(session, first.id)) == 1


def test_stock_follows_the_providers_numbers(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        record = ProductRecord("v1", "Kanga", sku="K1", stock_qty=10, updated_at=T)
        pid = ingest.upsert(record).id
        ingest.upsert(
            SaleRecord(
                "o1",
                "KES",
                100,
                T,
                lines=[
                    SaleLineRecord(
                        "l1", "Kanga", 3, 100, 300, sku="K1", product_external_id="v1"
                    )
                ],
            )
        )
        ingest.upsert(
            ProductRecord(
                "v1",
                "Kanga",
                sku="K1",
                stock_qty=7,
                updated_at=T + timedelta(minutes=1),
            )
        )
        stale = ingest.upsert(
            ProductRecord("v1", "Kanga", sku="K1", stock_qty=10, updated_at=T)
        )
        assert stale.outcome is Outcome.UNCHANGED
        product = session.get(Product, pid)
        assert product is not None
        assert product.stock_qty == 7


def test_sales_are_tenant_scoped(runtime: Runtime) -> None:
    a, b = make_company(runtime), make_company(runtime)
    with runtime.db.transaction(a.company_id) as session:
        ingest = ingestor(session, a.company_id)
        sale_id = ingest.upsert(mapping.sale_record(order())).id
    with runtime.db.transaction(b.company_id) as session:
        assert SaleRepository(session, b.company_id).get(sale_id) is None


def test_a_page_of_new_orders_takes_the_batched_path(runtime: Runtime) -> None:
    """The sync engine's fast path: new sales are written together at the end
    of the page; a second version of one in the same page still updates it."""
    from copcca.sync.batch import Batch, Item, upsert_fast

    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        first = order(id=1, name="#1")
        refunded = order(
            id=1,
            name="#1",
            financial_status="partially_refunded",
            refunds=[refund(466157049, 1, "600.00")],
            updated_at="2025-02-11T09:00:00+03:00",
        )
        items = [
            Item(str(o["id"]), "order", [mapping.sale_record(o)])
            for o in (first, order(id=2, name="#2"), refunded)
        ]
        batch = Batch()
        upsert_fast(ingest, items, batch)  # raises FastPathFailed on any error
        assert (count(session, Sale), count(session, SaleLine)) == (2, 4)
        assert (batch.read.created, batch.read.updated) == (2, 1)
        one = session.scalars(select(Sale).where(Sale.number == "#1")).one()
        assert (one.status, one.refunded_minor) == ("partially_refunded", 60000)
        assert events(session).count("sale.created") == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0712 345 678", "+254712345678"),
        ("+254 712-345-678", "+254712345678"),
        ("254712345678", "+254712345678"),
        ("712345678", "+254712345678"),
        ("(0712) 345678", "+254712345678"),
        ("00254712345678", "+254712345678"),
        ("0712.345.678", "+254712345678"),
        ("+255 754 123 456", "+255754123456"),  # a Tanzanian number stays Tanzanian
        ("12345", None),  # not a phone: the customer is kept, without one
        ("call me", None),
    ],
)
def test_order_phones_become_e164_or_nothing(
    runtime: Runtime, raw: str, expected: str | None
) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = ingestor(session, tenant.company_id)
        customer = CustomerRecord(None, "Mteja", phone=raw, email="mteja@example.co.ke")
        sale = session.get(
            Sale, ingest.upsert(SaleRecord("o1", "KES", 100, T, customer=customer)).id
        )
        assert sale is not None
        found = session.get(Customer, sale.customer_id)
        assert found is not None
        assert (found.phone, found.email) == (expected, "mteja@example.co.ke")
