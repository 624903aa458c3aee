"""The CRM records everything syncs into: customers, products, sales,
invoices, payments, messages, competitor prices, and the external ids that
make every upsert idempotent.

Money is an integer count of minor units plus an ISO 4217 code, never a float.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from copcca.db.base import Base, IdMixin, TenantOwned, Timestamps, utcnow


def _money() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class Customer(IdMixin, TenantOwned, Timestamps, Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_company_phone", "company_id", "phone"),
        Index("ix_customers_company_email", "company_id", "email"),
        Index("ix_customers_company_name", "company_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased
    phones: Mapped[list[str]] = mapped_column(default=list)
    emails: Mapped[list[str]] = mapped_column(default=list)
    city: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    notes: Mapped[str | None] = mapped_column(Text)
    balance_minor: Mapped[int] = _money()
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str | None] = mapped_column(String(40))
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]


class Product(IdMixin, TenantOwned, Timestamps, Base):
    __tablename__ = "products"
    __table_args__ = (
        Index(
            "uq_products_company_sku",
            "company_id",
            "sku",
            unique=True,
            sqlite_where=text("sku IS NOT NULL"),
            postgresql_where=text("sku IS NOT NULL"),
        ),
        Index("ix_products_company_name", "company_id", "name"),
    )

    sku: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(120))
    barcode: Mapped[str | None] = mapped_column(String(64))
    price_minor: Mapped[int] = _money()
    cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stock_qty: Mapped[int | None] = mapped_column(Integer)
    reorder_level: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str | None] = mapped_column(String(40))


class SaleStatus(StrEnum):
    COMPLETED = "completed"
    PENDING = "pending"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class Sale(IdMixin, TenantOwned, Timestamps, Base):
    __tablename__ = "sales"
    __table_args__ = (Index("ix_sales_company_sold_at", "company_id", "sold_at"),)

    number: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    sold_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(24), default=SaleStatus.COMPLETED.value)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = _money()
    discount_minor: Mapped[int] = _money()
    tax_minor: Mapped[int] = _money()
    total_minor: Mapped[int] = _money()
    refunded_minor: Mapped[int] = _money()
    channel: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[SaleLine]] = relationship(
        back_populates="sale", lazy="raise", cascade="all, delete-orphan"
    )


class SaleLine(IdMixin, TenantOwned, Base):
    __tablename__ = "sale_lines"

    sale_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sales.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_price_minor: Mapped[int] = _money()
    total_minor: Mapped[int] = _money()

    sale: Mapped[Sale] = relationship(back_populates="lines", lazy="raise")


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class Invoice(IdMixin, TenantOwned, Timestamps, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        UniqueConstraint("company_id", "payment_reference"),
        Index("ix_invoices_company_status", "company_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(64))
    payment_reference: Mapped[str | None] = mapped_column(String(12))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    sale_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("sales.id", ondelete="SET NULL")
    )
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(24), default=InvoiceStatus.OPEN.value)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = _money()
    paid_minor: Mapped[int] = _money()
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(40))


class PaymentStatus(StrEnum):
    RECEIVED = "received"
    MATCHED = "matched"
    NEEDS_REVIEW = "needs_review"
    REFUNDED = "refunded"
    FAILED = "failed"


class Payment(IdMixin, TenantOwned, Timestamps, Base):
    """Money in. ``(company, provider, provider_reference)`` is unique, so the
    same receipt arriving twice, by any route, is one payment (promises P1, P2)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("company_id", "provider", "provider_reference"),
        Index("ix_payments_company_received", "company_id", "received_at"),
        Index("ix_payments_company_status", "company_id", "status"),
    )

    provider: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(24), default="mobile_money")
    provider_reference: Mapped[str] = mapped_column(String(100))
    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="SET NULL")
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer_phone: Mapped[str | None] = mapped_column(String(20))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    account_reference: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(
        String(24), default=PaymentStatus.RECEIVED.value
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    unallocated_minor: Mapped[int] = _money()
    refunded_minor: Mapped[int] = _money()
    raw: Mapped[dict[str, Any] | None]


class PaymentAllocation(IdMixin, TenantOwned, Base):
    """How much of one payment went to one invoice, and why we think so."""

    __tablename__ = "payment_allocations"

    payment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    confidence: Mapped[int] = mapped_column(Integer, default=100)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="applied")
    # Which of the ranked suggestions (1 = best) this row belongs to.
    rank: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompetitorPrice(IdMixin, TenantOwned, Base):
    __tablename__ = "competitor_prices"

    product_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    competitor: Mapped[str] = mapped_column(String(200))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str | None] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(500))


class Message(IdMixin, TenantOwned, Timestamps, Base):
    """A WhatsApp, SMS or email message sent to or received from a customer."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_company_provider_id", "company_id", "provider_message_id"),
    )

    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8), default="out")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="SET NULL")
    )
    to_address: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    status_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)


class ExternalId(IdMixin, TenantOwned, Base):
    """Which CRM row a provider's record became. Upserts go through here, so a
    re-run of any page changes nothing (promise J3)."""

    __tablename__ = "external_ids"
    __table_args__ = (
        UniqueConstraint("company_id", "integration_id", "entity", "external_id"),
        Index("ix_external_ids_entity", "company_id", "entity", "entity_id"),
    )

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    entity: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    source_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
