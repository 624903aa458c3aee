"""Upsert provider records into the CRM, de-duplicated.

A customer is matched by its external id in the same integration, then by
phone (E.164 in the company's region), then by email; a product by external
id, then SKU. Re-ingesting the same record changes nothing (promise J3).
Each call says whether it created, updated or left the row unchanged, so
sync logs and imports can count honestly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from copcca import events
from copcca.crm.external_ids import ExternalIdRepository
from copcca.crm.phones import normalise_phone
from copcca.crm.records import CustomerRecord, ProductRecord
from copcca.db.repository import TenantRepository
from copcca.models.crm import Customer, ExternalId, Product
from copcca.models.tenancy import Company


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Upserted:
    id: uuid.UUID
    outcome: Outcome


class CustomerRepository(TenantRepository[Customer]):
    model = Customer
    noun = "customer"

    def by_phone(self, phone: str) -> Customer | None:
        stmt = self.select().where(
            Customer.phone == phone, Customer.deleted_at.is_(None)
        )
        row: Customer | None = self.session.scalars(stmt.limit(1)).first()
        return row

    def by_email(self, email: str) -> Customer | None:
        stmt = self.select().where(
            Customer.email == email, Customer.deleted_at.is_(None)
        )
        row: Customer | None = self.session.scalars(stmt.limit(1)).first()
        return row


class ProductRepository(TenantRepository[Product]):
    model = Product
    noun = "product"

    def by_sku(self, sku: str) -> Product | None:
        row: Product | None = self.session.scalars(
            self.select().where(Product.sku == sku).limit(1)
        ).first()
        return row

    def by_skus_or_names(self, keys: list[str]) -> list[Product]:
        stmt = self.select().where(or_(Product.sku.in_(keys), Product.name.in_(keys)))
        return list(self.session.scalars(stmt))


# Upserters for record types defined in other CRM modules (sales, invoices,
# payments): ``register_upserter(SaleRecord, upsert_sale)``.
Upserter = Callable[["Ingestor", Any], Upserted]
_UPSERTERS: dict[type, Upserter] = {}


def register_upserter(record_type: type, fn: Upserter) -> None:
    _UPSERTERS[record_type] = fn


class Ingestor:
    """Upserts for one company and (optionally) one integration."""

    def upsert(self, record: Any) -> Upserted:
        """Dispatch on the record's type (customers, products, or registered).

        Customers and products also record ``customer.created`` /
        ``product.updated`` style events in the same unit of work; registered
        upserters emit their own.
        """
        if isinstance(record, CustomerRecord):
            return self._emitted("customer", self.upsert_customer(record))
        if isinstance(record, ProductRecord):
            return self._emitted("product", self.upsert_product(record))
        fn = _UPSERTERS.get(type(record))
        if fn is None:
            raise TypeError(f"no upserter registered for {type(record).__name__}")
        return fn(self, record)

    def _emitted(self, entity: str, result: Upserted) -> Upserted:
        if result.outcome is not Outcome.UNCHANGED:
            events.emit(
                self.session,
                self.company.id,
                f"{entity}.{result.outcome.value}",
                entity=entity,
                entity_id=result.id,
                data={"source": self.source} if self.source else {},
            )
        return result

    def stale_link(
        self, entity: str, external_id: str | None, updated_at: datetime | None
    ) -> ExternalId | None:
        """The link when the provider already gave us a newer version of this
        record (an out-of-order or retried delivery, promise W9), else None."""
        if not (external_id and updated_at and self.integration_id):
            return None
        link = self.external.find(self.integration_id, entity, external_id)
        if link is None or link.source_updated_at is None:
            return None
        return link if updated_at < link.source_updated_at else None

    def __init__(
        self,
        session: Session,
        company: Company,
        integration_id: uuid.UUID | None = None,
        source: str | None = None,
    ) -> None:
        self.session = session
        self.company = company
        self.integration_id = integration_id
        self.source = source
        self.customers = CustomerRepository(session, company.id)
        self.products = ProductRepository(session, company.id)
        self.external = ExternalIdRepository(session, company.id)

    # customers -----------------------------------------------------------
    def match_customer(self, record: CustomerRecord) -> Customer | None:
        if record.external_id and self.integration_id:
            link = self.external.find(
                self.integration_id, "customer", record.external_id
            )
            if link is not None:
                found = self.customers.get(link.entity_id)
                if found is not None:
                    return found
        phone = normalise_phone(record.phone, self.company.country)
        if phone:
            found = self.customers.by_phone(phone)
            if found is not None:
                return found
        email = clean_email(record.email)
        if email:
            return self.customers.by_email(email)
        return None

    def upsert_customer(self, record: CustomerRecord) -> Upserted:
        stale = self.stale_link("customer", record.external_id, record.updated_at)
        if stale is not None:
            return Upserted(stale.entity_id, Outcome.UNCHANGED)
        phone = normalise_phone(record.phone, self.company.country)
        email = clean_email(record.email)
        values: dict[str, Any] = {
            "name": (record.name or "").strip()[:200] or phone or email or "Customer",
            "phone": phone,
            "email": email,
            "city": record.city,
            "address": record.address,
            "country": record.country,
            "notes": record.notes,
        }
        if record.balance_minor is not None:
            values["balance_minor"] = record.balance_minor
        extra_phones = [
            p
            for p in (
                normalise_phone(x, self.company.country) for x in record.extra_phones
            )
            if p
        ]
        extra_emails = [e for e in (clean_email(x) for x in record.extra_emails) if e]
        existing = self.match_customer(record)
        if existing is None:
            customer = self.customers.add(
                Customer(
                    id=uuid.uuid4(),
                    currency=record.currency or self.company.currency,
                    source=self.source,
                    phones=_merge([phone], extra_phones),
                    emails=_merge([email], extra_emails),
                    **values,
                )
            )
            outcome = Outcome.CREATED
        else:
            customer = existing
            # Keep what we know when the incoming record is silent.
            values = {k: v for k, v in values.items() if v not in (None, "")}
            if existing.phone and phone and existing.phone != phone:
                values.pop("phone")  # a second number becomes an extra one
            if existing.email and email and existing.email != email:
                values.pop("email")
            changed = apply_values(customer, values)
            phones = _merge(customer.phones, [phone], extra_phones)
            emails = _merge(customer.emails, [email], extra_emails)
            if phones != customer.phones:
                customer.phones, changed = phones, True
            if emails != customer.emails:
                customer.emails, changed = emails, True
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        self._link("customer", record.external_id, customer.id, record)
        return Upserted(customer.id, outcome)

    # products ------------------------------------------------------------
    def upsert_product(self, record: ProductRecord) -> Upserted:
        stale = self.stale_link("product", record.external_id, record.updated_at)
        if stale is not None:
            return Upserted(stale.entity_id, Outcome.UNCHANGED)
        existing: Product | None = None
        if record.external_id and self.integration_id:
            link = self.external.find(
                self.integration_id, "product", record.external_id
            )
            if link is not None:
                existing = self.products.get(link.entity_id)
        sku = (record.sku or "").strip() or None
        if existing is None and sku:
            existing = self.products.by_sku(sku)
        values: dict[str, Any] = {
            "name": record.name.strip()[:300] or sku or "Product",
            "sku": sku,
            "price_minor": record.price_minor,
            "cost_minor": record.cost_minor,
            "stock_qty": record.stock_qty,
            "reorder_level": record.reorder_level,
            "category": record.category,
            "barcode": record.barcode,
            "description": record.description,
            "active": record.active,
        }
        if existing is None:
            product = self.products.add(
                Product(
                    id=uuid.uuid4(),
                    currency=record.currency or self.company.currency,
                    source=self.source,
                    **{k: v for k, v in values.items() if v is not None},
                )
            )
            if product.price_minor is None:
                product.price_minor = 0
            outcome = Outcome.CREATED
        else:
            product = existing
            if sku and existing.sku and existing.sku != sku:
                values.pop("sku")
            changed = apply_values(
                product, {k: v for k, v in values.items() if v is not None}
            )
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        self._link("product", record.external_id, product.id, record)
        return Upserted(product.id, outcome)

    def _link(
        self, entity: str, external_id: str | None, entity_id: uuid.UUID, record: Any
    ) -> None:
        if external_id and self.integration_id:
            self.external.link(
                self.integration_id,
                entity,
                external_id,
                entity_id,
                getattr(record, "updated_at", None),
            )


def clean_email(value: str | None) -> str | None:
    if not value:
        return None
    email = value.strip().lower()
    return email if "@" in email and "." in email.split("@")[-1] else None


def apply_values(row: Any, values: dict[str, Any]) -> bool:
    """Set each value that differs; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _merge(*lists: list[str | None] | list[str]) -> list[str]:
    out: list[str] = []
    for items in lists:
        for item in items:
            if item and item not in out:
                out.append(item)
    return out
