"""Read the CSV a Safaricom M-Pesa business statement export gives (the
fallback for businesses without API access). Pure: bytes in, rows out.

The export starts with a few lines about the account, then a header row
(``Receipt No.``, ``Completion Time``, ``Details``, ``Transaction Status``,
``Paid In``, ``Withdrawn``, ``Balance``, ``Other Party Info``, ``A/C No.``
...). Only completed money *in* becomes a payment; each keeps its receipt
number, so a statement row, an STK callback and a C2B confirmation of the
same money are one payment. Encodings (UTF-8 with or without BOM, UTF-16,
cp1252) and ``,``/``;``/tab separators are read alike.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from charset_normalizer import from_bytes

from copcca.crm.money import to_minor_exact
from copcca.errors import InvalidInput

MAX_BYTES = 5_000_000
MAX_ROWS = 50_000
NAIROBI = ZoneInfo("Africa/Nairobi")
DATE_FORMATS = (
    "%d-%m-%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d-%m-%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
)
COLUMNS = {
    "receipt": ("receipt no", "receipt", "receipt number", "transaction id"),
    "completed": ("completion time", "completed", "date", "transaction date", "time"),
    "initiated": ("initiation time",),
    "details": ("details", "description", "narration", "particulars"),
    "status": ("transaction status", "status"),
    "paid_in": ("paid in", "credit", "amount received", "money in"),
    "withdrawn": ("withdrawn", "debit", "money out"),
    "other_party": ("other party info", "other party", "sender"),
    "account": (
        "a/c no",
        "ac no",
        "account",
        "account no",
        "account number",
        "bill ref",
    ),
}


@dataclass(frozen=True)
class StatementRow:
    line: int
    receipt: str
    amount_minor: int
    completed_at: datetime
    details: str
    phone_hint: str | None
    payer_name: str | None
    account: str | None


@dataclass
class Statement:
    rows: list[StatementRow] = field(default_factory=list)
    skipped: int = 0  # money out, pending or failed rows: not payments
    problems: list[tuple[int, str]] = field(default_factory=list)


def _key(header: str) -> str:
    return re.sub(r"[^a-z/ ]", "", header.strip().lower()).strip()


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"This file is larger than {MAX_BYTES // 1_000_000} MB.",
            fix="Export a shorter period, e.g. one month at a time.",
        )
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        if best is None:
            raise InvalidInput(
                "This file is not text we can read.",
                fix="Upload the CSV exactly as the M-Pesa portal exported it.",
            ) from None
        return str(best)


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    for index, row in enumerate(rows[:40]):
        keys = [_key(cell) for cell in row]
        if not any(k.startswith("receipt") for k in keys):
            continue
        found: dict[str, int] = {}
        for name, aliases in COLUMNS.items():
            for position, key in enumerate(keys):
                if key in aliases and name not in found:
                    found[name] = position
        if {"receipt", "completed", "paid_in"} <= found.keys():
            return index, found
    raise InvalidInput(
        "We could not find the statement's columns (Receipt No., Completion "
        "Time, Paid In).",
        fix="Upload the CSV the M-Pesa business portal exports, unchanged.",
    )


def _amount(text: str) -> int:
    cleaned = re.sub(r"[^0-9.\-]", "", text.replace(",", ""))
    if not cleaned or cleaned in ("-", "."):
        return 0
    try:
        return to_minor_exact(Decimal(cleaned), "KES")
    except (InvalidOperation, InvalidInput) as exc:
        raise ValueError(f"'{text}' is not an amount") from exc


def _when(text: str) -> datetime:
    value = text.strip()
    for fmt in DATE_FORMATS:
        try:
            local = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=NAIROBI).astimezone(UTC)
    raise ValueError(f"'{value}' is not a date and time we know")


def _party(text: str) -> tuple[str | None, str | None]:
    """``254712345678 - JANE DOE`` (the number may be masked)."""
    number, _, name = text.partition(" - ")
    number = number.strip()
    phone = number if re.fullmatch(r"[0-9*]{9,15}", number) else None
    if phone is None:
        return None, text.strip().title() or None
    return phone, name.strip().title() or None


def _account(cells: dict[str, str]) -> str | None:
    account = cells.get("account", "").strip()
    if account:
        return account
    found = re.search(
        r"\bAcc\.?\s*(?:No\.?)?\s*([A-Za-z0-9\-]+)", cells.get("details", "")
    )
    return found.group(1) if found else None


def parse_statement(data: bytes) -> Statement:
    """Payments in an M-Pesa statement export. Raises ``InvalidInput`` for a
    file that is not one; a bad row is reported with its line number."""
    text = decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=_separator(text)))
    except csv.Error as exc:  # e.g. a bare carriage return inside a field
        raise InvalidInput(
            "This file cannot be read as an M-Pesa statement.",
            fix="Download the statement again from M-Pesa (as CSV) and upload it "
            "as it is, without opening and saving it in a spreadsheet first.",
        ) from exc
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"This statement has more than {MAX_ROWS:,} rows.",
            fix="Export a shorter period.",
        )
    start, columns = _header(rows)
    statement = Statement()
    for offset, row in enumerate(rows[start + 1 :], start=start + 2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {
            name: row[i].strip() if i < len(row) else "" for name, i in columns.items()
        }
        _read_row(statement, offset, cells)
    return statement


def _separator(text: str) -> str:
    """The separator the header row uses (Excel writes ``;`` in some locales)."""
    for line in text.splitlines()[:40]:
        if "receipt" in line.lower():
            return max(",;\t", key=line.count)
    return ","


def _read_row(statement: Statement, line: int, cells: dict[str, str]) -> None:
    status = cells.get("status", "").lower()
    try:
        paid_in = _amount(cells.get("paid_in", ""))
    except ValueError as exc:
        statement.problems.append((line, str(exc)))
        return
    if paid_in <= 0 or (status and status != "completed"):
        statement.skipped += 1
        return
    receipt = cells.get("receipt", "").upper()
    if not re.fullmatch(r"[A-Z0-9]{6,20}", receipt):
        statement.problems.append(
            (line, f"'{cells.get('receipt')}' is not a receipt number")
        )
        return
    try:
        completed = _when(cells.get("completed", ""))
    except ValueError as exc:
        statement.problems.append((line, str(exc)))
        return
    phone, name = _party(cells.get("other_party", ""))
    statement.rows.append(
        StatementRow(
            line=line,
            receipt=receipt,
            amount_minor=paid_in,
            completed_at=completed,
            details=cells.get("details", "")[:300],
            phone_hint=phone,
            payer_name=name,
            account=_account(cells),
        )
    )
