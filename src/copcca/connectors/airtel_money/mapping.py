"""Airtel payloads to facts (providers.md §2). Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copcca.connectors.errors import DataError

# The currency Airtel collects in, per country (the X-Currency header).
CURRENCIES = {
    "KE": "KES",
    "UG": "UGX",
    "TZ": "TZS",
    "RW": "RWF",
    "NG": "NGN",
    "ZM": "ZMW",
    "MW": "MWK",
    "CD": "CDF",
}
SUCCESS, FAILED = "TS", "TF"
IN_PROGRESS = frozenset({"TA", "TIP"})


def currency_of(country: str) -> str:
    return CURRENCIES.get(country.upper(), "UGX")


def local_msisdn(e164: str, calling_code: str) -> str:
    """Airtel wants the number without its country code: ``7XXXXXXXX``."""
    digits = e164.lstrip("+")
    return digits[len(calling_code) :] if digits.startswith(calling_code) else digits


@dataclass(frozen=True)
class Callback:
    transaction_id: str  # our id
    status_code: str  # TS or TF
    message: str
    airtel_money_id: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code == SUCCESS


def parse_callback(data: dict[str, Any]) -> Callback:
    """``{"transaction":{"id","message","status_code","airtel_money_id"}}``."""
    txn = data.get("transaction")
    if not isinstance(txn, dict) or not str(txn.get("id") or "").strip():
        raise DataError("The Airtel callback names no transaction.")
    code = str(txn.get("status_code") or "").strip().upper()
    if code not in (SUCCESS, FAILED):
        raise DataError(f"The Airtel callback has an unknown status '{code}'.")
    return Callback(
        transaction_id=str(txn["id"]).strip(),
        status_code=code,
        message=str(txn.get("message") or "")[:300],
        airtel_money_id=str(txn.get("airtel_money_id") or "").strip() or None,
    )


@dataclass(frozen=True)
class Enquiry:
    status: str
    airtel_money_id: str | None
    message: str


def parse_enquiry(data: dict[str, Any]) -> Enquiry:
    """``GET /standard/v1/payments/{id}`` → ``data.transaction.status``."""
    txn = (
        (data.get("data") or {}).get("transaction") if isinstance(data, dict) else None
    )
    if not isinstance(txn, dict):
        raise DataError("Airtel's enquiry answer has no transaction.")
    return Enquiry(
        status=str(txn.get("status") or "").strip().upper(),
        airtel_money_id=str(txn.get("airtel_money_id") or "").strip() or None,
        message=str(txn.get("message") or "")[:300],
    )
