"""Every row checked: the problem kinds, and the cleaners that turn a raw
column into clean values while noting each problem with its row and column.

Cleaners work a column at a time (``map`` over a batch), and cache results
by raw value, because a million-row file repeats most of its values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copcca.crm.ingest import clean_email
from copcca.imports import values
from copcca.imports.phones import PhoneNormaliser
from copcca.imports.targets import Field, Kind, Target

SKIP, WITHOUT, CREATE, UPDATE, MERGE, KEEP = (
    "skip",
    "without",
    "create",
    "update",
    "merge",
    "keep",
)


@dataclass(frozen=True)
class ProblemKind:
    code: str
    severity: str  # error: the row needs a choice; warning/info: it imports
    title: str
    fix: str
    choices: tuple[str, ...] = ()
    default: str = SKIP


PROBLEMS: dict[str, ProblemKind] = {
    p.code: p
    for p in (
        ProblemKind(
            "missing_required",
            "error",
            "Missing required value",
            "Fill in the value, or leave the row out.",
            (SKIP,),
        ),
        ProblemKind(
            "bad_phone",
            "error",
            "Not a phone number",
            "Write the number in full, e.g. 0712 345 678 or +254712345678.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "phone_digits_lost",
            "error",
            "Excel cut the phone number short",
            "Excel showed the number as 2.54712E+11 and dropped its last "
            "digits. Format the column as Text in Excel, type the numbers "
            "again, and upload.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_email",
            "error",
            "Not an email address",
            "Correct it (name@example.com) or import without it.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_date",
            "error",
            "Not a date",
            "Write dates like 05/03/2025, or pick the date order used.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_amount",
            "error",
            "Not an amount",
            "Write amounts like 1500, 1,500.00 or KSh 1,500.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_number",
            "error",
            "Not a whole number",
            "Write whole numbers like 12 or 1,200.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_currency",
            "error",
            "Unknown currency",
            "Use a code like KES, TZS, UGX or NGN.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "bad_country",
            "error",
            "Unknown country",
            "Use a country name or code like KE or TZ.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "formula",
            "error",
            "A formula, not a value",
            "We never run formulas. In Excel copy the column and use Paste "
            "Special > Values, save and upload again.",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "negative_stock",
            "error",
            "Negative stock",
            "Stock cannot be below zero; correct the count.",
            (SKIP, KEEP),
        ),
        ProblemKind(
            "unknown_product",
            "error",
            "Product not in your list",
            "Add the product first, or let the import create it.",
            (SKIP, CREATE),
        ),
        ProblemKind(
            "unknown_customer",
            "warning",
            "Customer not in your list",
            "The import adds the customer; or import the row without a "
            "customer, or leave it out.",
            (CREATE, WITHOUT, SKIP),
            CREATE,
        ),
        ProblemKind(
            "unknown_invoice",
            "warning",
            "Invoice not in your list",
            "The payment is imported and matched like any other (or waits "
            "for you in Payments); or leave the row out.",
            (WITHOUT, SKIP),
            WITHOUT,
        ),
        ProblemKind(
            "bad_status",
            "error",
            "Unknown invoice status",
            "Write Open, Paid, Partly paid, Draft or Void (Swahili and French "
            "words work too).",
            (SKIP, WITHOUT),
        ),
        ProblemKind(
            "already_counted",
            "info",
            "Payment already counted",
            "A payment with this reference is already recorded (by an earlier "
            "import, a statement or the provider); it is not counted again.",
            (),
        ),
        ProblemKind(
            "payment_held",
            "warning",
            "Held for you to check",
            "It disagrees with a payment we were expecting (amount, phone or "
            "reference). Open Payments, Held back, to decide.",
            (),
        ),
        ProblemKind(
            "statement_row",
            "error",
            "A statement row we could not read",
            "Check this row in the statement; the other rows are imported.",
            (SKIP,),
        ),
        ProblemKind(
            "duplicate_in_file",
            "warning",
            "Appears twice in this file",
            "Later rows update the first one; or leave them out.",
            (MERGE, SKIP),
            MERGE,
        ),
        ProblemKind(
            "duplicate_existing",
            "info",
            "Already in your CRM",
            "It will be updated with this row's values; or leave it out.",
            (UPDATE, SKIP),
            UPDATE,
        ),
        ProblemKind(
            "excel_date",
            "info",
            "A number Excel showed as a date",
            "We turned it back into the number it was.",
            (),
        ),
        ProblemKind(
            "truncated",
            "info",
            "Too long, shortened",
            "The text was cut to the longest the CRM keeps.",
            (),
        ),
        ProblemKind(
            "total_row",
            "info",
            "A total row, left out",
            "Rows of totals are not records, so they are not imported.",
            (),
        ),
    )
}


def choice_for(on_problem: dict[str, str], code: str) -> str:
    kind = PROBLEMS[code]
    chosen = on_problem.get(code)
    return chosen if chosen in kind.choices else kind.default


@dataclass
class Problems:
    """Problems of one batch, by position in the batch."""

    rows: list[int]
    found: list[tuple[int, str | None, str, str | None]] = field(default_factory=list)

    def add(self, index: int, field_name: str | None, code: str, raw: Any) -> None:
        value = None if raw is None else values.as_text(raw)[:200]
        self.found.append((index, field_name, code, value))


Clean = Callable[[Any, int], Any]


@dataclass
class CleanContext:
    region: str
    date_order: str = "DMY"
    trim: bool = True


def cleaner(f: Field, ctx: CleanContext, problems: Problems) -> Clean:
    """A function (raw, index) -> clean value or None, noting problems."""
    if f.kind in (Kind.TEXT, Kind.ID, Kind.EMAIL):
        return _plain_cleaner(f, ctx, problems)
    if f.kind is Kind.PHONE:
        return _phone_cleaner(f, ctx, problems)
    parse = _parser(f, ctx)
    # Amounts, dates and codes repeat a lot: cache by raw value.
    cache: dict[Any, tuple[Any, str | None]] = {}
    name = f.name
    add = problems.add
    # Plain amounts in text ("1,500", "KSh 1,500") need neither.
    plain = values.plain_amount if f.kind is Kind.MONEY else None

    def clean(raw: Any, index: int) -> Any:
        if raw is None or raw == "":
            return None
        if plain is not None and raw.__class__ is str:
            found = plain(raw)
            if found is not None:
                return found
        if raw.__class__ is bool:
            hit = _run(parse, raw)
        else:
            cached = cache.get(raw)
            if cached is None:
                hit = _run(parse, raw)
                if len(cache) < 100_000:
                    cache[raw] = hit
            else:
                hit = cached
        if hit[1] is not None:
            add(index, name, hit[1], raw)
        return hit[0]

    return clean


def _phone_cleaner(f: Field, ctx: CleanContext, problems: Problems) -> Clean:
    """Phones: text in one of the company country's usual shapes goes
    straight to the fast normaliser (``phone_text`` would hand it that very
    text); anything else takes the full path."""
    normalise = PhoneNormaliser(ctx.region)
    slow, fast = _checked(f, _phone_parser(normalise), problems), normalise.fast

    def clean(raw: Any, index: int) -> Any:
        if raw.__class__ is str:
            found = fast(raw)
            if found is not None:
                return found
        return slow(raw, index)

    return clean


def _plain_cleaner(f: Field, ctx: CleanContext, problems: Problems) -> Clean:
    """Text, ids and emails: a straight path for ordinary strings (most
    cells), the full parser for anything unusual."""
    slow = cleaner_slow(f, ctx, problems)
    limit = f.max_len or 1_000_000
    email = f.kind is Kind.EMAIL
    collapse = ctx.trim and f.kind is Kind.TEXT

    def clean(raw: Any, index: int) -> Any:
        if raw.__class__ is not str:
            return None if raw is None else slow(raw, index)
        text = raw.strip()
        if not text:
            return None
        first = text[0]
        if first in "='" or len(text) > limit or (collapse and "  " in text):
            return slow(raw, index)
        if email:
            text = text.lower()
            at = text.rfind("@")
            if at < 1 or "." not in text[at:] or " " in text:
                return slow(raw, index)
        elif "\t" in text or "\n" in text:
            return slow(raw, index)
        return text

    return clean


def cleaner_slow(f: Field, ctx: CleanContext, problems: Problems) -> Clean:
    return _checked(f, _parser(f, ctx), problems)


def _checked(f: Field, parse: Callable[[Any], Any], problems: Problems) -> Clean:
    """``parse`` as a cleaner: empty cells are None, problems noted."""
    name, add = f.name, problems.add

    def clean(raw: Any, index: int) -> Any:
        if raw is None or raw == "":
            return None
        value, code = _run(parse, raw)
        if code is not None:
            add(index, name, code, raw)
        return value

    return clean


def _run(parse: Callable[[Any], Any], raw: Any) -> tuple[Any, str | None]:
    try:
        value = parse(raw)
    except values.Bad as exc:
        return None, (None if exc.code == "empty" else exc.code)
    if isinstance(value, values.Repaired):
        return value.value, value.code
    return value, None


def _phone_parser(normalise: PhoneNormaliser) -> Callable[[Any], str]:
    def phone(raw: Any) -> str:
        found = normalise(values.phone_text(raw))
        if found is None:
            raise values.Bad("bad_phone")
        return found

    return phone


def _parser(f: Field, ctx: CleanContext) -> Callable[[Any], Any]:
    if f.kind is Kind.PHONE:
        return _phone_parser(PhoneNormaliser(ctx.region))
    if f.kind is Kind.EMAIL:

        def email(raw: Any) -> str:
            text = values.parse_text(raw, collapse=False)
            found = clean_email(text)
            if found is None or " " in found or len(found) > 320:
                raise values.Bad("bad_email")
            return found

        return email
    if f.kind is Kind.MONEY:
        return values.parse_amount
    if f.kind is Kind.INT:
        return values.parse_int
    if f.kind is Kind.DATE:
        order = ctx.date_order
        return lambda raw: values.parse_date(raw, order)
    if f.kind is Kind.CURRENCY:
        return values.parse_currency
    if f.kind is Kind.COUNTRY:
        return values.parse_country
    limit = f.max_len
    collapse = ctx.trim and f.kind is Kind.TEXT

    def text(raw: Any) -> Any:
        found = values.parse_text(raw, collapse=collapse)
        if f.kind is Kind.ID and isinstance(raw, float) and raw.is_integer():
            found = str(int(raw))
        if limit and len(found) > limit:
            return values.Repaired(found[:limit], "truncated")
        return found

    return text


TOTAL_WORDS = frozenset(
    {
        "total",
        "totals",
        "grand total",
        "sub total",
        "subtotal",
        "sum",
        "jumla",
        "jumla kuu",
        "jumla ndogo",
        "totaux",
        "total general",
        "sous total",
        "somme",
    }
)


def is_total_row(cells: list[Any]) -> bool:
    """A row of totals: its first filled cell says so."""
    from copcca.imports.mapping import normalise

    for cell in cells[:3]:
        if cell not in ("", None):
            return isinstance(cell, str) and normalise(cell) in TOTAL_WORDS
    return False


def money_to_minor(
    amounts: list[Any], currencies: list[str], problems: Problems, field_name: str
) -> list[int | None]:
    """(Decimal, marker) pairs to integer minor units in each row's currency."""
    out: list[int | None] = []
    digits: dict[str, int] = {}
    minor_units, bad = values.minor_units, values.Bad
    for i, (item, currency) in enumerate(zip(amounts, currencies, strict=True)):
        if item is None:
            out.append(None)
            continue
        places = digits.get(currency)
        if places is None:
            places = digits[currency] = values.currency_digits(currency)
        try:
            minor: int | None = minor_units(item[0], places)
        except bad:
            minor = None
        if minor is None:
            problems.add(i, field_name, "bad_amount", str(item[0]))
        out.append(minor)
    return out


def row_currencies(
    target: Target,
    columns: dict[str, list[Any]],
    size: int,
    default: str,
) -> list[str]:
    """Each row's currency: its Currency column, else the marker in an amount
    ("TSh 20,000/="), else the company's."""
    explicit = columns.get("currency")
    markers: list[str | None] = [None] * size
    for f in target.fields:
        if f.kind is Kind.MONEY and f.name in columns:
            for i, item in enumerate(columns[f.name]):
                if item is not None and item[1] and markers[i] is None:
                    markers[i] = item[1]
    if explicit is None:
        return [m or default for m in markers]
    return [e or m or default for e, m in zip(explicit, markers, strict=True)]


def v_error_codes() -> frozenset[str]:
    """Codes that leave a row out (or a value off) unless the owner chooses."""
    return frozenset(c for c, k in PROBLEMS.items() if k.severity == "error")
