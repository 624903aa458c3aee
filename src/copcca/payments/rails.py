"""What every payment provider connector offers the payments service.

A rail asks a phone to pay (STK / USSD push), answers "did this payment
really happen?" by asking the provider (promises P4, P6), and says what the
provider expects back from a callback. It never touches the database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from copcca.connectors.base import ConnectorContext


class Verdict(StrEnum):
    PAID = "paid"
    FAILED = "failed"
    PENDING = "pending"  # not final yet: ask again later
    ASYNC = "async"  # the provider answers by a later callback
    UNVERIFIABLE = "unverifiable"  # this connection cannot ask the provider


@dataclass(frozen=True)
class Confirmed:
    """What the provider itself confirmed about a payment."""

    amount_minor: int
    currency: str
    receipt: str | None = None
    received_at: datetime | None = None
    phone: str | None = None  # E.164 when known
    phone_hint: str | None = None  # masked or hashed form, to compare against
    payer_name: str | None = None
    account_reference: str | None = None
    shortcode: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # False when the receipt came from an unsigned callback, not the provider.
    receipt_verified: bool = True


@dataclass(frozen=True)
class PushOrder:
    reference: str  # our unique id for this request
    account_reference: str  # what the customer sees / the invoice's reference
    phone: str  # E.164
    amount_minor: int
    currency: str
    description: str
    callback_url: str


@dataclass(frozen=True)
class PushAck:
    reference: str  # the key the provider's callback will carry
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestFacts:
    """A pending request or announced payment, as the rail needs to see it."""

    origin: str
    reference: str
    amount_minor: int
    currency: str
    receipt: str | None = None
    phone: str | None = None
    account_reference: str | None = None
    created_at: datetime | None = None
    result_url: str | None = None
    timeout_url: str | None = None


@dataclass(frozen=True)
class StatusAnswer:
    verdict: Verdict
    message: str = ""
    code: str | None = None
    confirmed: Confirmed | None = None
    conversation_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """The HTTP answer a provider expects to a callback."""

    status: int
    body: dict[str, Any]


class PaymentRail(ABC):
    """Implemented by each payment provider's connector."""

    @abstractmethod
    def currency(self, config: dict[str, Any]) -> str | None:
        """The currency this connection receives (None: several)."""

    @abstractmethod
    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        """Ask the customer's phone to pay; raise a ProviderError if refused."""

    @abstractmethod
    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        """Ask the provider what happened to this payment."""

    def can_push(self, config: dict[str, Any]) -> bool:
        return True
