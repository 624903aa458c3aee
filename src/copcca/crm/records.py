"""Provider-neutral records: what a connector's ``mapping.py`` or an import
produces, and what the ingest services upsert into the CRM. Plain data,
no database, so mapping functions stay pure and testable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CustomerRecord:
    external_id: str | None
    name: str
    phone: str | None = None  # raw, normalised by the ingest service
    email: str | None = None
    city: str | None = None
    address: str | None = None
    country: str | None = None
    notes: str | None = None
    balance_minor: int | None = None
    currency: str | None = None
    extra_phones: list[str] = field(default_factory=list)
    extra_emails: list[str] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass
class ProductRecord:
    external_id: str | None
    name: str
    sku: str | None = None
    price_minor: int | None = None
    currency: str | None = None
    cost_minor: int | None = None
    stock_qty: int | None = None
    reorder_level: int | None = None
    category: str | None = None
    barcode: str | None = None
    description: str | None = None
    active: bool = True
    updated_at: datetime | None = None


@dataclass
class SaleLineRecord:
    """One line of a sale. ``product_external_id`` names the provider's
    product (a Shopify variant, a WooCommerce product); ``None`` when the
    product was deleted in the shop: the line keeps its name and price."""

    external_id: str | None
    name: str
    quantity: int
    unit_price_minor: int
    total_minor: int
    sku: str | None = None
    product_external_id: str | None = None
    refunded_quantity: int = 0


@dataclass
class SaleRecord:
    """An order from a shop or till, as the provider last described it.

    Refunds and cancellations arrive as a newer version of the same record
    (same ``external_id``) with a changed ``status``, ``refunded_minor`` and
    line ``refunded_quantity``: the sale changes, it is never duplicated.
    """

    external_id: str
    currency: str
    total_minor: int
    sold_at: datetime
    number: str | None = None
    status: str = "completed"
    subtotal_minor: int = 0
    discount_minor: int = 0
    tax_minor: int = 0
    refunded_minor: int = 0
    channel: str | None = None
    note: str | None = None
    customer: CustomerRecord | None = None
    lines: list[SaleLineRecord] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass
class InvoiceRecord:
    """An invoice from an accounting system, an import or a person."""

    external_id: str | None
    number: str
    total_minor: int
    currency: str | None = None
    paid_minor: int | None = None  # as the source system sees it
    customer: CustomerRecord | None = None
    issued_at: datetime | None = None
    due_at: datetime | None = None
    status: str | None = None  # draft, open or void; paid is worked out here
    notes: str | None = None
    payment_reference: str | None = None
    updated_at: datetime | None = None


@dataclass
class PaymentRecord:
    """Money a provider (or the merchant's own statement) confirms was paid.

    ``(provider, provider_reference)`` identifies it: for M-Pesa the receipt
    number, whichever route it came by (STK callback, C2B confirmation,
    statement import), so it is recorded once (promises P1, P2).
    """

    provider: str
    provider_reference: str
    amount_minor: int
    currency: str
    received_at: datetime
    payer_phone: str | None = None  # raw, normalised on the way in
    payer_name: str | None = None
    account_reference: str | None = None
    method: str = "mobile_money"
    raw: dict[str, Any] | None = None
