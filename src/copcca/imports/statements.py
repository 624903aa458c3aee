"""M-Pesa statement exports dropped into the Import Center.

A Safaricom business statement is recognised by its own reader
(``connectors.mpesa.statement.parse_statement``: the title block, then
``Receipt No.``, ``Completion Time``, ``Paid In`` …), whatever target the
owner picked, and imported into payments. Its rows are read by that same
reader, not by the column mapping: only completed money in is a payment,
and money out, pending and failed rows are left out as the M-Pesa page's
statement import leaves them out. Each payment then goes through the same
settlement (``writers.payments``), so the exactly-once rules are one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from copcca.connectors.mpesa.mapping import CURRENCY
from copcca.connectors.mpesa.statement import (
    MAX_BYTES,
    Statement,
    StatementRow,
    parse_statement,
)
from copcca.errors import InvalidInput
from copcca.imports.validation import Problems
from copcca.imports.writers.base import CleanBatch

MPESA = "mpesa"


def recognise(path: Path, kind: str) -> Statement | None:
    """The statement in a CSV file, or None when it is not one."""
    if kind != "csv" or path.stat().st_size > MAX_BYTES:
        return None
    try:
        return parse_statement(path.read_bytes())
    except InvalidInput:  # not a statement (a bare CR in a field included)
        return None


def notice(statement: Statement) -> dict[str, Any]:
    """What the job page tells the owner about the statement."""
    return {
        "code": "mpesa_statement",
        "payments": len(statement.rows),
        "not_money_in": statement.skipped,
        "unreadable": len(statement.problems),
    }


def row_count(statement: Statement) -> int:
    return len(statement.rows) + len(statement.problems)


def batches(path: Path, size: int, start_after: int = 0) -> Iterator[CleanBatch]:
    """The statement's payments (and unreadable rows, as problems) in file
    order, from a checkpoint on."""
    statement = parse_statement(path.read_bytes())
    items: list[tuple[int, StatementRow | str]] = [
        *((row.line, row) for row in statement.rows),
        *statement.problems,
    ]
    items = sorted((i for i in items if i[0] > start_after), key=lambda i: i[0])
    for start in range(0, len(items), size):
        yield _batch(items[start : start + size])


def _batch(items: list[tuple[int, StatementRow | str]]) -> CleanBatch:
    lines = [line for line, _ in items]
    problems = Problems(lines)
    rows: list[StatementRow | None] = []
    skip: list[bool] = []
    for index, (_, item) in enumerate(items):
        if isinstance(item, StatementRow):
            rows.append(item)
            skip.append(False)
        else:
            rows.append(None)
            skip.append(True)
            problems.add(index, None, "statement_row", item)
    fields: dict[str, list[Any]] = {
        "statement": rows,
        "amount_minor": [r.amount_minor if r else None for r in rows],
        "reference": [r.receipt if r else None for r in rows],
    }
    return CleanBatch(lines, fields, [CURRENCY] * len(lines), skip, problems)
