"""Customer and product upserts: de-duplicated, idempotent, tenant-scoped."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from copcca.crm.ingest import Ingestor, Outcome
from copcca.crm.records import CustomerRecord, ProductRecord
from copcca.models.crm import Customer, Product
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from tests.helpers import make_company


def _integration(session, company_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    row = Integration(
        company_id=company_id,
        provider="shopify",
        name=f"S {uuid.uuid4().hex[:4]}",
        category="ecommerce",
    )
    session.add(row)
    session.flush()
    return row.id


def test_same_phone_written_differently_is_one_customer(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        ingest = Ingestor(session, company)
        first = ingest.upsert_customer(
            CustomerRecord(None, "Wanjiku", phone="0712 345 678")
        )
        second = ingest.upsert_customer(
            CustomerRecord(None, "Wanjiku K", phone="+254712345678")
        )
        third = ingest.upsert_customer(
            CustomerRecord(None, "Wanjiku K", phone="254712345678")
        )

        assert first.outcome is Outcome.CREATED
        assert second == type(second)(first.id, Outcome.UPDATED)
        assert third == type(third)(first.id, Outcome.UNCHANGED)
        customer = session.get(Customer, first.id)
        assert customer.phone == "+254712345678"
        assert customer.name == "Wanjiku K"
        count = session.scalar(select(func.count()).select_from(Customer))
        assert count == 1


def test_external_id_wins_over_phone_and_rerun_is_unchanged(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        integration_id = _integration(session, tenant.company_id)
        ingest = Ingestor(session, company, integration_id, source="shopify")
        a = ingest.upsert_customer(CustomerRecord("c1", "Otieno", phone="0722000001"))
        moved = ingest.upsert_customer(
            CustomerRecord("c1", "Otieno", phone="0722000002")
        )
        again = ingest.upsert_customer(
            CustomerRecord("c1", "Otieno", phone="0722000002")
        )

        assert moved.id == a.id
        assert again.outcome is Outcome.UNCHANGED
        customer = session.get(Customer, a.id)
        assert customer.phone == "+254722000001"
        assert customer.phones == ["+254722000001", "+254722000002"]


def test_email_matches_case_insensitively(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = Ingestor(session, session.get(Company, tenant.company_id))
        a = ingest.upsert_customer(
            CustomerRecord(None, "Aisha", email="Aisha@Mail.com ")
        )
        b = ingest.upsert_customer(
            CustomerRecord(None, "Aisha", email="aisha@mail.com")
        )
        assert a.id == b.id


def test_other_company_phone_is_not_matched(runtime: Runtime) -> None:
    a, b = make_company(runtime, "A"), make_company(runtime, "B")
    with runtime.db.transaction(a.company_id) as session:
        first = Ingestor(session, session.get(Company, a.company_id)).upsert_customer(
            CustomerRecord(None, "Same", phone="0712345678")
        )
    with runtime.db.transaction(b.company_id) as session:
        second = Ingestor(session, session.get(Company, b.company_id)).upsert_customer(
            CustomerRecord(None, "Same", phone="0712345678")
        )
    assert second.outcome is Outcome.CREATED
    assert second.id != first.id


def test_product_matched_by_sku_and_stock_follows(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    with runtime.db.transaction(tenant.company_id) as session:
        ingest = Ingestor(session, session.get(Company, tenant.company_id))
        a = ingest.upsert_product(
            ProductRecord(
                None, "Unga 2kg", sku="UNGA-2", price_minor=23000, stock_qty=10
            )
        )
        b = ingest.upsert_product(
            ProductRecord(
                None, "Unga 2kg", sku="UNGA-2", price_minor=23000, stock_qty=7
            )
        )
        assert b == type(b)(a.id, Outcome.UPDATED)
        product = session.get(Product, a.id)
        assert (product.stock_qty, product.currency, product.price_minor) == (
            7,
            "KES",
            23000,
        )
