"""What a payment callback told us, plus what the provider answered when we
asked it. Plain records: a connector's ``apply_webhook`` builds them
outside any transaction (it may call the provider's status API there), and
the payments intake applies them to the database (``payments.intake``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from copcca.connectors.mpesa.mapping import BalanceLine
from copcca.payments.rails import Confirmed, StatusAnswer


@dataclass(frozen=True)
class PushEvidence:
    """A callback about a payment we requested (STK / USSD push)."""

    provider: str
    reference: str  # the key we stored when the provider took the request
    delivery: str  # the inbox event id, distinct per delivered body
    succeeded: bool
    code: str = ""
    message: str = ""
    amount_minor: int | None = None
    currency: str | None = None
    receipt: str | None = None
    phone: str | None = None  # E.164
    paid_at: datetime | None = None
    answer: StatusAnswer | None = None  # the provider's status API, if asked

    def claim(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "code": self.code,
            "message": self.message[:300],
            "amount_minor": self.amount_minor,
            "receipt": self.receipt,
            "phone": self.phone,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "delivery": self.delivery,
        }


@dataclass(frozen=True)
class NoticeEvidence:
    """A payment the provider announced without us asking (C2B, card
    webhooks), and the provider's own confirmation when we have it."""

    provider: str
    delivery: str
    receipt: str
    amount_minor: int
    currency: str
    account_reference: str | None = None
    phone: str | None = None  # E.164, when the provider gave a whole number
    phone_hint: str | None = None  # masked or hashed form
    payer_name: str | None = None
    paid_at: datetime | None = None
    shortcode: str | None = None
    method: str = "mobile_money"
    raw: dict[str, Any] = field(default_factory=dict)
    answer: StatusAnswer | None = None


@dataclass(frozen=True)
class ResultEvidence:
    """The asynchronous answer to a query we sent (M-Pesa Transaction Status
    or Account Balance)."""

    provider: str
    delivery: str
    conversation_id: str
    originator_id: str
    succeeded: bool
    code: str
    message: str
    receipt: str | None = None  # the receipt the query was about
    confirmed: Confirmed | None = None
    balance: tuple[BalanceLine, ...] | None = None


@dataclass(frozen=True)
class RefundEvidence:
    """Money given back on a payment (PayPal ``PAYMENT.CAPTURE.REFUNDED``)."""

    provider: str
    delivery: str
    refund_id: str
    payment_reference: str  # the captured payment it belongs to
    amount_minor: int
    currency: str
    refunded_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
