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
