"""Flutterwave v3 payloads (providers.md §4). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from copcca.connectors.errors import DataError
from copcca.crm.money import to_minor_exact
from copcca.errors import InvalidInput

SUCCESSFUL = "successful"


@dataclass(frozen=True)
class Charge:
    id: str
    tx_ref: str
    status: str
    amount_minor: int
    currency: str
    payment_type: str
    created_at: datetime | None
    customer_name: str | None
    customer_phone: str | None
    customer_email: str | None

    @property
    def successful(self) -> bool:
        return self.status.lower() == SUCCESSFUL


def parse_charge(data: dict[str, Any]) -> Charge:
    """A transaction object, from a webhook's ``data`` or the verify API."""
    tx_id = str(data.get("id") or "").strip()
    currency = str(data.get("currency") or "").strip().upper()
    if not tx_id or len(currency) != 3 or not currency.isalpha():
        raise DataError("The Flutterwave transaction has no id or currency.")
    try:
        amount = to_minor_exact(Decimal(str(data.get("amount"))), currency)
    except (InvalidInput, ArithmeticError) as exc:
        raise DataError("The Flutterwave amount is not a valid amount.") from exc
    if amount <= 0:
        raise DataError("The Flutterwave amount is not above zero.")
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    assert isinstance(customer, dict)
    return Charge(
        id=tx_id,
        tx_ref=str(data.get("tx_ref") or "").strip(),
        status=str(data.get("status") or ""),
        amount_minor=amount,
        currency=currency,
        payment_type=str(data.get("payment_type") or ""),
        created_at=_when(data.get("created_at")),
        customer_name=str(customer.get("name") or "").strip() or None,
        customer_phone=str(customer.get("phone_number") or "").strip() or None,
        customer_email=str(customer.get("email") or "").strip() or None,
    )


def _when(value: object) -> datetime | None:
    text = str(value or "").strip().replace("Z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else None


def method_of(payment_type: str) -> str:
    kind = payment_type.lower()
    if "card" in kind:
        return "card"
    if "bank" in kind or "account" in kind or "transfer" in kind:
        return "bank"
    return "mobile_money"
