"""PayPal payloads (providers.md §5). Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from copcca.connectors.errors import DataError
from copcca.crm.money import to_minor_exact
from copcca.errors import InvalidInput

CAPTURE_COMPLETED = "PAYMENT.CAPTURE.COMPLETED"
CAPTURE_REFUNDED = "PAYMENT.CAPTURE.REFUNDED"
COMPLETED = "COMPLETED"
SIGNATURE_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)


def money(amount: object) -> tuple[int, str]:
    """``{"currency_code":"USD","value":"10.50"}`` → (1050, "USD")."""
    if not isinstance(amount, dict):
        raise DataError("The PayPal amount is missing.")
    currency = str(amount.get("currency_code") or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DataError("The PayPal amount has no currency.")
    try:
        minor = to_minor_exact(Decimal(str(amount.get("value"))), currency)
    except (InvalidInput, ArithmeticError) as exc:
        raise DataError("The PayPal amount is not a valid amount.") from exc
    if minor <= 0:
        raise DataError("The PayPal amount is not above zero.")
    return minor, currency


def when(value: object) -> datetime | None:
    text = str(value or "").strip().replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


@dataclass(frozen=True)
class Capture:
    id: str
    status: str
    amount_minor: int
    currency: str
    reference: str | None  # invoice_id or custom_id: ours
    created_at: datetime | None


def parse_capture(resource: dict[str, Any]) -> Capture:
    capture_id = str(resource.get("id") or "").strip()
    if not capture_id:
        raise DataError("The PayPal capture has no id.")
    amount, currency = money(resource.get("amount"))
    reference = str(
        resource.get("invoice_id") or resource.get("custom_id") or ""
    ).strip()
    return Capture(
        id=capture_id,
        status=str(resource.get("status") or "").upper(),
        amount_minor=amount,
        currency=currency,
        reference=reference or None,
        created_at=when(resource.get("create_time")),
    )


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount_minor: int
    currency: str
    capture_id: str
    created_at: datetime | None


def parse_refund(resource: dict[str, Any]) -> Refund:
    refund_id = str(resource.get("id") or "").strip()
    amount, currency = money(resource.get("amount"))
    capture_id = ""
    for link in resource.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "up":
            found = re.search(r"/captures/([^/?#]+)", str(link.get("href") or ""))
            if found:
                capture_id = found.group(1)
    if not refund_id or not capture_id:
        raise DataError("The PayPal refund names no capture.")
    return Refund(
        id=refund_id,
        status=str(resource.get("status") or "").upper(),
        amount_minor=amount,
        currency=currency,
        capture_id=capture_id,
        created_at=when(resource.get("create_time")),
    )
