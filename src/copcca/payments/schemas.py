"""API shapes for payments, invoices, the review queue and held callbacks.
Money is always integer minor units with its ISO currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from copcca.models.crm import Invoice, Payment
from copcca.models.payments import PaymentRequest
from copcca.reconcile.service import ReviewItem


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    payment_reference: str | None = Field(
        description="What customers type as the M-Pesa account number."
    )
    customer_id: uuid.UUID | None
    status: str
    currency: str
    total_minor: int
    paid_minor: int
    balance_minor: int
    issued_at: datetime
    due_at: datetime | None

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            number=invoice.number,
            payment_reference=invoice.payment_reference,
            customer_id=invoice.customer_id,
            status=invoice.status,
            currency=invoice.currency,
            total_minor=invoice.total_minor,
            paid_minor=invoice.paid_minor,
            balance_minor=max(0, invoice.total_minor - invoice.paid_minor),
            issued_at=invoice.issued_at,
            due_at=invoice.due_at,
        )


def _written_date(value: Any) -> Any:
    """A date given as text (ISO 8601), as the schema says; a bare number
    would otherwise be taken as seconds since 1970."""
    if value is None or isinstance(value, str | datetime):
        return value
    raise ValueError(
        "Give the date as text, e.g. 2026-12-31 or 2026-12-31T17:00:00+03:00."
    )


WrittenDate = Annotated[datetime | None, BeforeValidator(_written_date)]


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_name: str = Field(min_length=1, max_length=200)
    customer_phone: str | None = Field(default=None, max_length=40)
    amount_minor: int = Field(gt=0, le=10**15)
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, pattern="^[A-Za-z]{3}$"
    )
    number: str | None = Field(default=None, max_length=64)
    due_at: WrittenDate = None
    notes: str | None = Field(default=None, max_length=2000)


class InvoiceList(BaseModel):
    items: list[InvoiceOut]


class AllocationOut(BaseModel):
    invoice_id: uuid.UUID
    invoice_number: str
    amount_minor: int


class PaymentOut(BaseModel):
    id: uuid.UUID
    provider: str
    method: str
    provider_reference: str
    amount_minor: int
    currency: str
    payer_phone: str | None
    payer_name: str | None
    account_reference: str | None
    received_at: datetime
    status: str
    customer_id: uuid.UUID | None
    unallocated_minor: int
    refunded_minor: int
    applied_to: list[AllocationOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls, payment: Payment, applied: list[tuple[Invoice, int]] | None = None
    ) -> PaymentOut:
        return cls(
            id=payment.id,
            provider=payment.provider,
            method=payment.method,
            provider_reference=payment.provider_reference,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            payer_phone=payment.payer_phone,
            payer_name=payment.payer_name,
            account_reference=payment.account_reference,
            received_at=payment.received_at,
            status=payment.status,
            customer_id=payment.customer_id,
            unallocated_minor=payment.unallocated_minor,
            refunded_minor=payment.refunded_minor,
            applied_to=[
                AllocationOut(invoice_id=i.id, invoice_number=i.number, amount_minor=a)
                for i, a in applied or []
            ],
        )


class PaymentList(BaseModel):
    items: list[PaymentOut]


class CandidateOut(BaseModel):
    rank: int
    confidence: int = Field(ge=0, le=100)
    reasons: list[str] = Field(description="Stable codes, e.g. ref_payment_reference.")
    allocations: list[AllocationOut]


class ReviewItemOut(BaseModel):
    payment: PaymentOut
    candidates: list[CandidateOut]

    @classmethod
    def of(cls, item: ReviewItem) -> ReviewItemOut:
        return cls(
            payment=PaymentOut.of(item.payment),
            candidates=[
                CandidateOut(
                    rank=p.rank,
                    confidence=p.confidence,
                    reasons=p.reasons,
                    allocations=[
                        AllocationOut(
                            invoice_id=i.id, invoice_number=i.number, amount_minor=a
                        )
                        for i, a in p.lines
                    ],
                )
                for p in item.plans
            ],
        )


class ReviewQueue(BaseModel):
    items: list[ReviewItemOut]


class Confirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: int = Field(default=1, ge=1, le=3, description="1 is the best suggestion.")


class Reassign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: uuid.UUID | None = Field(default=None, description="Required.")


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_match_threshold: int = Field(
        ge=50,
        le=101,
        description="Confidence from which matches apply themselves; 101 = always ask.",
    )


class ThresholdOut(BaseModel):
    auto_match_threshold: int


class HeldOut(BaseModel):
    id: uuid.UUID
    provider: str
    reference: str
    receipt: str | None
    amount_minor: int
    currency: str
    phone: str | None
    account_reference: str | None
    status: str
    review_reason: str | None
    review_note: str | None
    created_at: datetime
    recordable: bool

    @classmethod
    def of(cls, row: PaymentRequest, recordable: bool) -> HeldOut:
        return cls(
            id=row.id,
            provider=row.provider,
            reference=row.reference,
            receipt=row.receipt,
            amount_minor=row.amount_minor,
            currency=row.currency,
            phone=row.phone,
            account_reference=row.account_reference,
            status=row.status,
            review_reason=row.review_reason,
            review_note=row.review_note,
            created_at=row.created_at,
            recordable=recordable,
        )


class HeldList(BaseModel):
    items: list[HeldOut]


class PaymentRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    integration_id: uuid.UUID | None = Field(
        default=None, description="Which connection; default: your only one that can."
    )
    phone: str | None = Field(default=None, max_length=40)
    amount_minor: int | None = Field(default=None, gt=0, le=10**15)


class PaymentRequestOut(BaseModel):
    request_id: uuid.UUID
    message: str


class ActionOut(BaseModel):
    ok: bool
    message: str


class StatementOut(BaseModel):
    added: int
    already: int
    held: int
    skipped: int
    problems: list[dict[str, object]]
    message: str
