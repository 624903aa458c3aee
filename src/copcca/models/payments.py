"""Money on its way in: payment requests we started or were told about, and
refunds. A row here is never money in the books; a ``payments`` row is, and
only once the provider has confirmed it (promises P3, P4, P6)."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, IdMixin, TenantOwned, Timestamps, utcnow


class RequestOrigin(StrEnum):
    PUSH = "push"  # we asked the customer's phone (STK / USSD push)
    NOTICE = "notice"  # the provider told us of a payment we did not ask for


class RequestStatus(StrEnum):
    SENDING = "sending"  # written before the provider call, reference not known yet
    PENDING = "pending"  # the customer has the prompt; waiting for the result
    CONFIRMING = "confirming"  # a callback came; checking it with the provider
    PAID = "paid"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"  # quarantined: never credited without a person
    EXPIRED = "expired"
    DISMISSED = "dismissed"


OPEN_STATUSES = frozenset(
    {RequestStatus.SENDING, RequestStatus.PENDING, RequestStatus.CONFIRMING}
)


class PaymentRequest(IdMixin, TenantOwned, Timestamps, Base):
    """One expected or announced payment, until the provider confirms it.

    ``reference`` is the provider-facing key: the STK CheckoutRequestID, our
    Airtel/Tigo transaction id, or the receipt of an unsolicited notice. It is
    unique per company and provider, so the same callback stored twice
    updates one row (promise P1).
    """

    __tablename__ = "payment_requests"
    __table_args__ = (
        UniqueConstraint("company_id", "provider", "reference"),
        Index("ix_payment_requests_company_status", "company_id", "status"),
        Index("ix_payment_requests_company_receipt", "company_id", "receipt"),
        Index("ix_payment_requests_conversation", "company_id", "conversation_id"),
    )

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(16), default=RequestOrigin.PUSH.value)
    reference: Mapped[str] = mapped_column(String(100))
    receipt: Mapped[str | None] = mapped_column(String(100))
    # True once the provider itself confirmed the receipt (not just a callback).
    receipt_verified: Mapped[bool] = mapped_column(default=False)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("customers.id", ondelete="SET NULL")
    )
    phone: Mapped[str | None] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    account_reference: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value)
    claimed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result_code: Mapped[str | None] = mapped_column(String(40))
    result_desc: Mapped[str | None] = mapped_column(Text)
    review_reason: Mapped[str | None] = mapped_column(String(40))
    review_note: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(100))
    checks: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payments.id", ondelete="SET NULL"), index=True
    )
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    settled_via: Mapped[str | None] = mapped_column(String(16))
    settled_at: Mapped[datetime | None]


class PaymentRefund(IdMixin, TenantOwned, Base):
    """Money given back on a payment; one row per provider refund id."""

    __tablename__ = "payment_refunds"
    __table_args__ = (UniqueConstraint("company_id", "provider", "provider_reference"),)

    payment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    provider_reference: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refunded_at: Mapped[datetime] = mapped_column(default=utcnow)
    raw: Mapped[dict[str, Any] | None]
