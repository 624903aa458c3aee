"""Reading values out of provider payloads, strictly.

Every mapping function reads money, quantities, ids and times through
these, so a hostile or broken payload becomes one ``DataError`` (the record
is skipped, counted and sampled in the sync log), never a crash, a float or
a number the database cannot hold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import is_currency as _is_currency

from copcca.connectors.errors import DataError
from copcca.crm.money import to_minor
from copcca.errors import InvalidInput

MAX_MINOR = 2**63 - 1  # BIGINT
is_currency = lru_cache(maxsize=512)(_is_currency)
MAX_QUANTITY = 2**31 - 1  # INTEGER


def currency_code(value: Any, *, record: str) -> str:
    """An ISO 4217 code we know how to count in, upper-cased."""
    code = str(value or "").strip().upper()
    if not is_currency(code):
        raise DataError(
            f"{record} is in currency '{str(value)[:12]}', which we do not know.",
            record=record,
            fix="Check the currency set in the shop; it must be an ISO code "
            "such as KES, TZS, UGX or NGN.",
        )
    return code


def currency_or(value: Any, fallback: str) -> str:
    """``value`` when it is a currency we know, else ``fallback``."""
    code = str(value or "").strip().upper()
    return code if is_currency(code) else fallback


def country_code(value: Any) -> str | None:
    """An ISO 3166 alpha-2 code, upper-cased, or None."""
    code = text(value, 2)
    return code.upper() if code and len(code) == 2 and code.isalpha() else None


def money_minor(value: Any, currency: str, *, record: str, what: str) -> int:
    """Integer minor units from a decimal string or int (never a float)."""
    if value is None or value == "":
        return 0
    if isinstance(value, (float, bool)):  # a tuple: no union object per call
        raise DataError(f"{record}: {what} is not a decimal amount.", record=record)
    try:
        amount = _minor(value if value.__class__ is str else str(value), currency)
    except (InvalidInput, InvalidOperation) as exc:
        raise DataError(
            f"{record}: {what} '{str(value)[:30]}' is not an amount.", record=record
        ) from exc
    if abs(amount) > MAX_MINOR:
        raise DataError(f"{record}: {what} is impossibly large.", record=record)
    return amount


@lru_cache(maxsize=16384)  # a shop's prices repeat on every page
def _minor(value: str, currency: str) -> int:
    return to_minor(Decimal(value.strip()), currency)


def quantity(value: Any, *, record: str) -> int:
    """A whole, non-negative quantity the database can hold."""
    if type(value) is int and 0 <= value <= MAX_QUANTITY:
        return value  # the usual case, without a trip through Decimal
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise DataError(
            f"{record}: quantity '{str(value)[:30]}' is not a number.", record=record
        ) from exc
    if (
        isinstance(value, bool)
        or not number.is_finite()
        or number != number.to_integral_value()
        or number < 0
        or number > MAX_QUANTITY
    ):
        raise DataError(
            f"{record}: quantity '{str(value)[:30]}' is not a whole number we can store.",
            record=record,
            fix="Correct the order's quantities in the shop.",
        )
    return int(number)


def stock(value: Any) -> int | None:
    """A stock level, or None when the shop does not track it."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return max(-MAX_QUANTITY, min(MAX_QUANTITY, number))


def timestamp(value: Any, *, record: str, required: bool = True) -> datetime | None:
    """An aware UTC datetime from ISO 8601 (naive values are taken as UTC)."""
    if value is None or value == "":
        if required:
            raise DataError(f"{record} has no date.", record=record)
        return None
    try:
        return _utc(str(value))
    except ValueError as exc:
        raise DataError(
            f"{record}: '{str(value)[:40]}' is not a date.", record=record
        ) from exc


def _utc(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)  # the usual, exact ISO 8601
    except ValueError:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def external_id(value: Any, *, record: str) -> str:
    """A provider id as text; missing ids make the record unusable."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > 255 or isinstance(value, bool):
        raise DataError(f"{record} has no usable id.", record=record)
    return text


def text(value: Any, limit: int) -> str | None:
    """Trimmed text, cut to ``limit`` characters, or None when empty."""
    if value is None:
        return None
    out = (value if value.__class__ is str else str(value)).strip()
    return out[:limit] or None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
