"""One batch of rows from raw cells to a checked, cleaned batch.

Fixes typed in the preview are applied first, then each mapped column is
cleaned as a whole, then rows are checked (required values, negative
stock, totals), and each problem's chosen action decides whether the row
is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

from copcca.imports import validation as v
from copcca.imports.targets import Kind, Target
from copcca.imports.writers.base import CleanBatch

NEGATIVE_CHECKED = ("stock", "counted")


@dataclass
class Plan:
    """How to read and check rows for one job."""

    target: Target
    field_map: dict[str, int]  # field -> column index
    context: v.CleanContext
    currency: str
    on_problem: dict[str, str] = field(default_factory=dict)
    fixes: dict[int, dict[int, str]] = field(default_factory=dict)


def clean_batch(plan: Plan, rows: list[tuple[int, list[Any]]]) -> CleanBatch:
    numbers = [n for n, _ in rows]
    cells = [c for _, c in rows]
    if plan.fixes:
        _apply_fixes(plan.fixes, numbers, cells)
    size = len(rows)
    problems = v.Problems(numbers)
    skip = [False] * size
    # One transposition for every column (short rows padded with None).
    by_column = list(zip_longest(*cells)) if cells else []
    firsts = by_column[0] if by_column else [None] * size
    # Cheap pre-test: only short words starting like "Total"/"Jumla"/"Sum".
    maybe_total = [
        i
        for i, first in enumerate(firsts)
        if isinstance(first, str) and first[:1] in "TtJjGgSs" and len(first) < 20
    ]
    for i in maybe_total:
        if v.is_total_row(cells[i]):
            skip[i] = True
            problems.add(i, None, "total_row", None)
    fields: dict[str, list[Any]] = {}
    for name, index in plan.field_map.items():
        spec = plan.target.field(name)
        clean = v.cleaner(spec, plan.context, problems)
        column = by_column[index] if index < len(by_column) else [None] * size
        fields[name] = list(map(clean, column, range(size)))
    currencies = v.row_currencies(plan.target, fields, size, plan.currency)
    for spec in plan.target.fields:
        if spec.kind is Kind.MONEY and spec.name in fields:
            fields[f"{spec.name}_minor"] = v.money_to_minor(
                fields[spec.name], currencies, problems, spec.name
            )
    _check_rows(plan, fields, problems, skip)
    return CleanBatch(numbers, fields, currencies, skip, problems)


def _apply_fixes(
    fixes: dict[int, dict[int, str]], numbers: list[int], cells: list[list[Any]]
) -> None:
    for i, number in enumerate(numbers):
        fix = fixes.get(number)
        if not fix:
            continue
        row = list(cells[i])
        for column, value in fix.items():
            while len(row) <= column:
                row.append(None)
            row[column] = value
        cells[i] = row


def _check_rows(
    plan: Plan,
    fields: dict[str, list[Any]],
    problems: v.Problems,
    skip: list[bool],
) -> None:
    size = len(skip)
    for name in NEGATIVE_CHECKED:
        column = fields.get(name)
        if column is None:
            continue
        for i, value in enumerate(column):
            if value is not None and value < 0:
                problems.add(i, name, "negative_stock", value)
    for i, _field_name, code, _value in problems.found:
        kind = v.PROBLEMS[code]
        if kind.severity == "error" and v.choice_for(plan.on_problem, code) == v.SKIP:
            skip[i] = True
    text_kinds = (Kind.TEXT, Kind.ID, Kind.PHONE, Kind.EMAIL)
    for group in plan.target.required:
        columns = [fields[name] for name in group if name in fields]
        present = zip(*columns, strict=True) if columns else iter([()] * size)
        # Clean text values are never "" (cleaners give None), so any() is
        # exact for them; numbers need the explicit test (0 is a value).
        plain = all(plan.target.field(n).kind in text_kinds for n in group)
        for i, values in enumerate(present):
            if skip[i] or (any(values) if plain else _any_value(values)):
                continue
            problems.add(i, group[0], "missing_required", None)
            skip[i] = True


def _any_value(values: tuple[Any, ...]) -> bool:
    return any(v not in (None, "") for v in values)
