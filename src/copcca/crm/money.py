"""Money as integer minor units plus an ISO 4217 code. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_decimal, get_currency_precision, get_currency_symbol

from copcca.errors import InvalidInput


@lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """Digits after the decimal point (KES 2, UGX 0)."""
    return int(get_currency_precision(currency.upper()))


@dataclass(frozen=True, order=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(
            self.amount_minor, bool
        ):
            raise TypeError("amount_minor must be an int")
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ValueError(f"not an ISO 4217 code: {self.currency!r}")

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int, currency: str) -> Money:
        return cls(to_minor(amount, currency), currency.upper())

    def to_decimal(self) -> Decimal:
        return from_minor(self.amount_minor, self.currency)

    def format(self, locale: str = "en") -> str:
        return format_money(self.amount_minor, self.currency, locale)


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Exact conversion of a major-unit amount to minor units."""
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise InvalidInput(f"'{amount}' is not an amount.") from exc
    if not value.is_finite():
        raise InvalidInput(f"'{amount}' is not an amount.")
    digits = minor_digits(currency)
    scaled = (value * (Decimal(10) ** digits)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    return int(scaled)


def to_minor_exact(amount: Decimal | str | int, currency: str) -> int:
    """Like :func:`to_minor`, but refuses amounts finer than the currency
    allows (``10.005`` KES, ``1.5`` UGX) instead of rounding them."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise InvalidInput(f"'{amount}' is not an amount.") from exc
    if not value.is_finite():
        raise InvalidInput(f"'{amount}' is not an amount.")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"{amount} {currency.upper()} has more decimals than the currency allows."
        )
    return int(scaled)


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-minor_digits(currency))


# How shops write their currency (a receipt says "KSh 1,500", not "Ksh1,500.00").
LOCAL_SYMBOLS = {
    "KES": "KSh",
    "TZS": "TSh",
    "UGX": "USh",
    "RWF": "FRw",
    "NGN": "₦",
    "GHS": "GH₵",
    "ZAR": "R",
    "ZMW": "K",
    "XOF": "CFA",
    "XAF": "FCFA",
}
BABEL_LOCALES = {"en": "en_KE", "sw": "sw_KE", "fr": "fr"}


def format_money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """``KSh 1,500`` or ``KSh 1,500.50``: the symbol shops use, digits
    grouped in the viewer's locale, cents only when there are some."""
    code = currency.upper()
    babel_locale = BABEL_LOCALES.get(locale, locale)
    value = from_minor(amount_minor, code)
    digits = minor_digits(code) if value != value.to_integral_value() else 0
    number = format_decimal(
        abs(value),
        format="#,##0" + ("." + "0" * digits if digits else ""),
        locale=babel_locale,
    )
    symbol = LOCAL_SYMBOLS.get(code) or get_currency_symbol(code, locale=babel_locale)
    return f"{'-' if value < 0 else ''}{symbol} {number}"
