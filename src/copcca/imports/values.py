"""Cell values, repaired from what spreadsheets do to them.

Each parser takes a raw cell (text from CSV; text, number, date or bool from
Excel) and returns a clean value, or raises :class:`Bad` with a problem code.
A value that was repaired (an Excel date turned back into the number it was)
comes back wrapped in :class:`Repaired`, so the preview can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision, list_currencies

EXCEL_EPOCH = date(1899, 12, 30)
KNOWN_CURRENCIES = frozenset(list_currencies())
FORMULA_START = "="
# Characters our exports put a quote before (promise F5); an uploaded cell
# that starts with the quote and one of them came from such an export.
NEUTRALISED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


class Bad(Exception):
    """A cell that cannot be used; ``code`` names the problem kind."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Repaired:
    value: Any
    code: str


def unquote(text: str) -> str:
    return text[1:] if text.startswith(NEUTRALISED) else text


def as_text(raw: Any) -> str:
    """Any cell as the text a person would see."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ", timespec="minutes")
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw)


# text -------------------------------------------------------------------
SPACES = re.compile(r"\s+")


def parse_text(raw: Any, *, collapse: bool = True) -> str:
    text = unquote(as_text(raw))
    if text.startswith(FORMULA_START) and len(text) > 1:
        raise Bad("formula")
    text = SPACES.sub(" ", text).strip() if collapse else text.strip()
    if not text:
        raise Bad("empty")
    return text


# money ------------------------------------------------------------------
CURRENCY_MARKERS = {
    "ksh": "KES",
    "kshs": "KES",
    "kes": "KES",
    "ksh.": "KES",
    "sh": None,
    "shs": None,
    "/=": None,
    "tsh": "TZS",
    "tshs": "TZS",
    "tzs": "TZS",
    "ush": "UGX",
    "ushs": "UGX",
    "ugx": "UGX",
    "rwf": "RWF",
    "frw": "RWF",
    "ngn": "NGN",
    "₦": "NGN",
    "ghs": "GHS",
    "gh₵": "GHS",
    "₵": "GHS",
    "zar": "ZAR",
    "xof": "XOF",
    "fcfa": None,
    "cfa": None,
    "xaf": "XAF",
    "usd": "USD",
    "$": "USD",
    "us$": "USD",
    "eur": "EUR",
    "€": "EUR",
    "gbp": "GBP",
    "£": "GBP",
    "r": "ZAR",
    "n": "NGN",
    "f": None,
}
MONEY_RE = re.compile(
    r"^(?P<neg1>[-(])?\s*(?P<pre>[^\d\s().,'+-]{1,4}\.?)?\s*(?P<neg2>-)?\s*"
    r"(?P<num>\d[\d\s.,']*)\s*(?P<post>[^\d\s().,'+-]{1,5}\.?)?\s*"
    r"(?P<tail>/=|/-|\.-|,-)?\s*(?P<neg3>[)-])?$"
)
THIN_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})
# The shapes most amount cells take (``1500``, ``1,500``, ``1 500``,
# ``1500.00``, ``KSh 1,500``), read without the general parser. Thousands
# groups need a first group that is not 0 and decimals at most two digits,
# so nothing here is ambiguous for ``_number`` (tested to agree).
PLAIN_AMOUNT = re.compile(
    r"(?:([A-Za-z]{1,4}\.?) ?)?"
    r"([1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]{0,2}(?: [0-9]{3})+|[0-9]+)"
    r"(\.[0-9]{1,2})?"
)
NO_SEPARATORS = str.maketrans("", "", ", ")
ONE = Decimal(1)


def plain_amount(text: str) -> tuple[Decimal, str | None] | None:
    """``parse_amount(text)`` for the common shapes, else None (not an
    answer: the caller asks ``parse_amount``)."""
    match = PLAIN_AMOUNT.fullmatch(text)
    if match is None:
        return None
    pre, number, decimals = match.groups()
    currency = _marker(pre) if pre else None
    if currency is _UNKNOWN:
        return None
    if decimals:
        number += decimals
    return Decimal(number.translate(NO_SEPARATORS)), currency  # type: ignore[return-value]


def parse_amount(raw: Any) -> tuple[Decimal, str | None] | Repaired:
    """An amount and the currency its text names, if any.

    Handles ``KSh 1,000``, ``TSh 20,000/=``, ``1.000,50``, ``1 000``,
    ``(500)`` and ``-500``; numbers Excel showed as dates come back as the
    number (``Repaired``).
    """
    if raw.__class__ is str:
        plain = plain_amount(raw)
        if plain is not None:
            return plain
    return parse_amount_fully(raw)


def parse_amount_fully(raw: Any) -> tuple[Decimal, str | None] | Repaired:
    """:func:`parse_amount` without the shortcut for plain shapes."""
    if isinstance(raw, bool):
        raise Bad("bad_amount")
    if isinstance(raw, int | float):
        return _decimal(raw), None
    if isinstance(raw, datetime | date):
        return Repaired((Decimal(excel_serial(raw)), None), "excel_date")
    if isinstance(raw, time | timedelta):
        raise Bad("bad_amount")
    text = unquote(str(raw)).translate(THIN_SPACES).strip()
    if text.startswith(FORMULA_START):
        raise Bad("formula")
    match = MONEY_RE.match(text)
    if match is None:
        as_date = _date_text_as_serial(text)
        if as_date is not None:
            return Repaired((Decimal(as_date), None), "excel_date")
        raise Bad("bad_amount")
    currency = _marker(match.group("pre")) or _marker(match.group("post"))
    if (match.group("pre") and _marker(match.group("pre")) is _UNKNOWN) or (
        match.group("post") and _marker(match.group("post")) is _UNKNOWN
    ):
        raise Bad("bad_amount")
    negative = bool(
        match.group("neg2")
        or (match.group("neg1") == "-")
        or (match.group("neg1") == "(" and match.group("neg3") == ")")
        or (match.group("neg3") == "-" and not match.group("neg1"))
    )
    if match.group("neg1") == "(" and match.group("neg3") != ")":
        raise Bad("bad_amount")
    amount = _number(match.group("num"))
    return (-amount if negative else amount), (
        currency if isinstance(currency, str) else None
    )


_UNKNOWN = object()


def _marker(text: str | None) -> object:
    if not text:
        return None
    key = text.lower()
    if key not in CURRENCY_MARKERS:
        key = key.rstrip(".")
    if key in CURRENCY_MARKERS:
        return CURRENCY_MARKERS[key]
    if len(key) == 3 and key.isalpha() and key.upper() in KNOWN_CURRENCIES:
        return key.upper()
    return _UNKNOWN


def _number(text: str) -> Decimal:
    """Digits with thousands and decimal separators in any usual style."""
    digits = text.replace(" ", "").replace("'", "")
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        decimal_sep = "," if digits.rfind(",") > digits.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        digits = digits.replace(thousands, "").replace(decimal_sep, ".")
    elif commas:
        digits = _one_separator(digits, ",")
    elif dots:
        digits = _one_separator(digits, ".")
    try:
        return Decimal(digits)
    except InvalidOperation as exc:
        raise Bad("bad_amount") from exc


def _one_separator(digits: str, sep: str) -> str:
    """``1,000`` and ``1.000`` are thousands; ``1,5`` and ``12.50`` decimals."""
    parts = digits.split(sep)
    if len(parts) > 2:
        if all(len(p) == 3 for p in parts[1:]) and 1 <= len(parts[0]) <= 3:
            return "".join(parts)
        raise Bad("bad_amount")
    head, tail = parts
    if len(tail) == 3 and head and head != "0" and len(head) <= 3:
        return head + tail
    return f"{head or '0'}.{tail}"


def _decimal(value: int | float) -> Decimal:
    if isinstance(value, int):
        return Decimal(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise Bad("bad_amount")
    return Decimal(repr(value))


def to_minor_units(amount: Decimal, currency: str) -> int:
    return minor_units(amount, currency_digits(currency))


def currency_digits(currency: str) -> int:
    """Decimal places of the currency's minor unit (KES 2, UGX 0)."""
    return int(get_currency_precision(currency))


def minor_units(amount: Decimal, digits: int) -> int:
    """``amount`` in units of ``10**-digits``, rounded half to even."""
    scaled = amount.scaleb(digits).quantize(ONE)
    if abs(scaled) >= 10**17:
        raise Bad("bad_amount")
    return int(scaled)


def parse_int(raw: Any) -> int | Repaired:
    """A whole number (stock, quantities): ``1,200``, ``12.0``, ``1 200``."""
    parsed = parse_amount(raw)
    repaired = isinstance(parsed, Repaired)
    amount, currency = parsed.value if isinstance(parsed, Repaired) else parsed
    if currency is not None or amount != amount.to_integral_value():
        raise Bad("bad_number")
    if abs(amount) > 2_000_000_000:
        raise Bad("bad_number")
    return Repaired(int(amount), "excel_date") if repaired else int(amount)


# dates ------------------------------------------------------------------
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "januari", "janvier", "janv"),
            ("feb", "february", "februari", "fevrier", "févr", "fev", "février"),
            ("mar", "march", "machi", "mars"),
            ("apr", "april", "aprili", "avril", "avr"),
            ("may", "mei", "mai"),
            ("jun", "june", "juni", "juin"),
            ("jul", "july", "julai", "juillet", "juil"),
            ("aug", "august", "agosti", "aout", "août"),
            ("sep", "sept", "september", "septemba", "septembre"),
            ("oct", "october", "oktoba", "octobre"),
            ("nov", "november", "novemba", "novembre"),
            ("dec", "december", "desemba", "decembre", "déc", "décembre"),
        ),
        start=1,
    )
    for name in names
}
NUMERIC_DATE = re.compile(
    r"^(\d{1,4})[/\-. ](\d{1,2})[/\-. ](\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
NAMED_DATE = re.compile(r"^(\d{1,2})[\s\-/.]*([^\W\d_]+)\.?[\s\-/.,]*(\d{2,4})$")
NAMED_DATE_US = re.compile(r"^([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})$")
DATE_ORDERS = ("DMY", "MDY", "YMD")


def parse_date(raw: Any, order: str = "DMY") -> date:
    """A calendar date; ``order`` settles 03/04/2025 (DMY: 3 April)."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, bool):
        raise Bad("bad_date")
    if isinstance(raw, int | float):
        if 1 <= raw < 2958466:
            return EXCEL_EPOCH + timedelta(days=int(raw))
        raise Bad("bad_date")
    text = unquote(str(raw)).strip()
    if text.startswith(FORMULA_START):
        raise Bad("formula")
    found = _numeric_date(text, order) or _named_date(text)
    if found is None:
        raise Bad("bad_date")
    return found


def _numeric_date(text: str, order: str) -> date | None:
    match = NUMERIC_DATE.match(text)
    if match is None:
        return None
    a, b, c = (int(x) for x in match.group(1, 2, 3))
    if len(match.group(1)) == 4:
        year, month, day = a, b, c
    elif order == "MDY":
        month, day, year = a, b, c
    elif order == "YMD":
        year, month, day = a, b, c
    else:
        day, month, year = a, b, c
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise Bad("bad_date") from exc


def _named_date(text: str) -> date | None:
    for pattern, order in ((NAMED_DATE, "DMY"), (NAMED_DATE_US, "MDY")):
        match = pattern.match(text)
        if match is None:
            continue
        if order == "DMY":
            day, name, year = match.group(1, 2, 3)
        else:
            name, day, year = match.group(1, 2, 3)
        month = MONTHS.get(name.lower())
        if month is None:
            return None
        y = int(year)
        y += (2000 if y < 70 else 1900) if y < 100 else 0
        try:
            return date(y, month, int(day))
        except ValueError as exc:
            raise Bad("bad_date") from exc
    return None


def excel_serial(value: date | datetime) -> int:
    """The number Excel stores for a date (what a number became)."""
    day = value.date() if isinstance(value, datetime) else value
    return (day - EXCEL_EPOCH).days


def _date_text_as_serial(text: str) -> int | None:
    """'14/03/2023' in a number column: the number Excel displayed as a date."""
    try:
        found = _numeric_date(text, "DMY") or _named_date(text)
    except Bad:
        return None
    return excel_serial(found) if found else None


# phones -----------------------------------------------------------------
SCIENTIFIC = re.compile(r"^(\d)(?:[.,](\d+))?[eE]\+?(\d{1,2})$")


def phone_text(raw: Any) -> str:
    """The phone as typed, with Excel's damage undone: a number cell
    (712345678.0) or scientific notation (2.54712345678E+11) back to digits.
    Scientific notation that dropped digits (2.54712E+11) cannot be undone."""
    if isinstance(raw, (bool, date | time | timedelta)):
        raise Bad("bad_phone")
    if isinstance(raw, float):
        if not raw.is_integer() or raw <= 0:
            raise Bad("bad_phone")
        return str(int(raw))
    if isinstance(raw, int):
        return str(raw)
    text = unquote(str(raw)).strip()
    if text.startswith(FORMULA_START):
        raise Bad("formula")
    match = SCIENTIFIC.match(text)
    if match:
        head, fraction, exponent = match.group(1), match.group(2) or "", match.group(3)
        if len(fraction) < int(exponent):
            raise Bad("phone_digits_lost")
        return str(int(Decimal(f"{head}.{fraction}e{exponent}")))
    return text


# small kinds ------------------------------------------------------------
COUNTRY_NAMES = {
    "kenya": "KE",
    "tanzania": "TZ",
    "uganda": "UG",
    "rwanda": "RW",
    "nigeria": "NG",
    "ghana": "GH",
    "south africa": "ZA",
    "senegal": "SN",
    "sénégal": "SN",
    "cameroon": "CM",
    "cameroun": "CM",
    "ivory coast": "CI",
    "côte d'ivoire": "CI",
    "cote d'ivoire": "CI",
    "burundi": "BI",
    "ethiopia": "ET",
    "somalia": "SO",
    "south sudan": "SS",
    "zambia": "ZM",
    "malawi": "MW",
    "mozambique": "MZ",
    "drc": "CD",
    "congo": "CG",
}


def parse_country(raw: Any) -> str:
    text = parse_text(raw).lower()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    code = COUNTRY_NAMES.get(text)
    if code is None:
        raise Bad("bad_country")
    return code


def parse_currency(raw: Any) -> str:
    text = parse_text(raw)
    marker = _marker(text)
    if isinstance(marker, str):
        return marker
    raise Bad("bad_currency")
