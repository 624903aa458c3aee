"""Provider-neutral records: what a connector's ``mapping.py`` or an import
produces, and what the ingest services upsert into the CRM. Plain data,
no database, so mapping functions stay pure and testable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
