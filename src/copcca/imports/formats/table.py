"""One interface over every format: rows as (row number, cells), the header
row found (even below a title block), and a full first pass that enforces
the limits before anything is imported (promise F1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from copcca.imports import mapping, values
from copcca.imports.errors import EmptyFile, NoHeader, TooBig
from copcca.imports.formats import spreadsheet, text
from copcca.imports.formats.detect import Kind, detect
from copcca.imports.limits import Limits
from copcca.imports.targets import Target

HEAD_ROWS = 30
SAMPLE_ROWS = 20
SNIFF_ROWS = 200


@dataclass
class Layout:
    kind: str
    columns: list[str]
    header_row: int  # 0: the file has no header row
    total_rows: int
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sample: list[list[str]] = field(default_factory=list)
    sample_rows: list[int] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    formula_cells: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def raw_rows(
    path: Path,
    layout_kind: str,
    limits: Limits,
    *,
    sheet: str | None = None,
    text_format: text.TextFormat | None = None,
) -> Iterator[tuple[int, list[Any]]]:
    """Every row of the file with its number as the owner sees it."""
    if layout_kind == Kind.CSV:
        fmt = text_format or text.sniff(path)
        yield from enumerate(text.iter_rows(path, fmt, limits), 1)
        return
    book = spreadsheet.open_workbook(path, Kind(layout_kind), limits)
    yield from spreadsheet.iter_rows(book, sheet or book.sheets[0], limits)


def is_blank(cells: list[Any]) -> bool:
    return not any(c not in ("", None) for c in cells)


def scan(
    path: Path, limits: Limits, target: Target, region: str, sheet: str | None = None
) -> tuple[Layout, list[list[Any]]]:
    """Read the whole file once: format, header, row count, sample, limits.

    Returns the layout and up to ``SNIFF_ROWS`` raw data rows for mapping.
    """
    kind = detect(path)
    layout = Layout(kind=kind.value, columns=[], header_row=0, total_rows=0)
    text_format = None
    if kind is Kind.CSV:
        text_format = text.sniff(path)
        layout.encoding, layout.delimiter = text_format.label, text_format.delimiter
    else:
        book = spreadsheet.open_workbook(path, kind, limits)
        layout.sheets = book.sheets
        layout.sheet = sheet if sheet in book.sheets else book.sheets[0]
        _formula_notices(book, layout)
    rows = raw_rows(path, kind, limits, sheet=layout.sheet, text_format=text_format)
    head: list[tuple[int, list[Any]]] = []
    for number, cells in rows:
        if not is_blank(cells):
            head.append((number, cells))
            if len(head) >= HEAD_ROWS:
                break
    if not head:
        raise EmptyFile()
    header_at = find_header(head, target)
    sniff: list[list[Any]] = []
    if header_at is None:
        width = Counter(len(c) for _, c in head).most_common(1)[0][0]
        layout.columns = [f"Column {i + 1}" for i in range(width)]
        layout.notices.append({"code": "no_header"})
        data_start = head[0][0]
    else:
        number, cells = head[header_at]
        layout.header_row = number
        layout.columns = column_names(cells)
        data_start = number + 1
    _check_width(layout, limits)
    counted = _count_rows(layout, head, rows, data_start, limits, sniff)
    layout.total_rows = counted
    if header_at is None and counted == 1:
        raise NoHeader(
            "This holds a single row without headings, so we cannot tell what "
            "each value is.",
            fix="Add a row of headings (for example Name, Phone) above it, or "
            "start from one of our templates.",
        )
    if counted == 0:
        raise NoHeader(
            "This file has a header row but no rows of data under it.",
            fix="Add your rows under the headings and upload again.",
        )
    return layout, sniff


def _count_rows(
    layout: Layout,
    head: list[tuple[int, list[Any]]],
    rest: Iterator[tuple[int, list[Any]]],
    data_start: int,
    limits: Limits,
    sniff: list[list[Any]],
) -> int:
    count = 0
    check_cells = layout.kind != Kind.CSV
    width_limit = limits.max_columns

    blank = (lambda cells: not any(cells)) if not check_cells else is_blank

    def take(number: int, cells: list[Any]) -> None:
        nonlocal count
        if number < data_start or blank(cells):
            return
        count += 1
        if count > limits.max_rows:
            raise TooBig(
                f"This file has more than {limits.max_rows:,} rows.",
                fix=f"Split it into files of at most {limits.max_rows:,} rows each.",
            )
        if len(cells) > width_limit:
            raise TooBig(
                f"Row {number} has {len(cells):,} columns; the limit is "
                f"{width_limit:,}.",
                fix="Delete the columns you do not need and upload again.",
            )
        if check_cells:
            _check_cells(number, cells, limits)
        if len(sniff) < SNIFF_ROWS:
            sniff.append(cells)
        if len(layout.sample) < SAMPLE_ROWS:
            layout.sample.append([values.as_text(c) for c in cells])
            layout.sample_rows.append(number)

    for number, cells in head:
        take(number, cells)
    for number, cells in rest:
        take(number, cells)
    return count


def _check_cells(number: int, cells: list[Any], limits: Limits) -> None:
    for cell in cells:
        if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
            raise TooBig(
                f"Row {number} has a cell longer than {limits.max_cell_chars:,} "
                "characters.",
                fix="Shorten that cell and upload again.",
                row=number,
            )


def _check_width(layout: Layout, limits: Limits) -> None:
    if len(layout.columns) > limits.max_columns:
        raise TooBig(
            f"This table has {len(layout.columns):,} columns; the limit is "
            f"{limits.max_columns:,}.",
            fix="Delete the columns you do not need and upload again.",
        )


def find_header(head: list[tuple[int, list[Any]]], target: Target) -> int | None:
    """Index in ``head`` of the header row, or None when there is none."""
    widths = Counter(sum(1 for c in cells if c not in ("", None)) for _, cells in head)
    modal = widths.most_common(1)[0][0]
    best, best_score, best_hits = None, 0.0, 0
    for i, (_, cells) in enumerate(head[:15]):
        filled = [c for c in cells if c not in ("", None)]
        if len(filled) < max(1, min(2, modal), modal // 2):
            continue
        hits = sum(1 for c in filled if mapping.header_score(target, str(c))[1] >= 80)
        texty = sum(1 for c in filled if _texty(c))
        score = hits * 10 + texty * 2 - (len(filled) - texty) * 3
        if score > best_score:
            best, best_score, best_hits = i, score, hits
    if best is None:
        return None
    if best_hits == 0 and not _data_below(head, best):
        return None
    return best


def _texty(cell: Any) -> bool:
    """A cell that reads like a heading: words, not a number, phone or email."""
    if not isinstance(cell, str):
        return False
    text_ = cell.strip()
    if not any(ch.isalpha() for ch in text_) or "@" in text_:
        return False
    digits = sum(ch.isdigit() for ch in text_)
    return digits <= len(text_) // 3


def _data_below(head: list[tuple[int, list[Any]]], index: int) -> bool:
    """Rows under a candidate header hold something other than words."""
    below = head[index + 1 : index + 11]
    if not below:
        return False
    non_text = sum(
        1 for _, cells in below for c in cells if c not in ("", None) and not _texty(c)
    )
    return non_text > 0


def column_names(cells: list[Any]) -> list[str]:
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, cell in enumerate(cells):
        name = values.as_text(cell).strip()[:200] or f"Column {i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    while names and names[-1].startswith("Column ") and _trailing_empty(cells, names):
        names.pop()
    return names


def _trailing_empty(cells: list[Any], names: list[str]) -> bool:
    i = len(names) - 1
    return i >= len(cells) or cells[i] in ("", None)


def _formula_notices(book: spreadsheet.Workbook, layout: Layout) -> None:
    sheet = layout.sheet or ""
    columns = book.formula_columns(sheet)
    if columns:
        layout.notices.append(
            {
                "code": "formulas",
                "cells": sum(columns.values()),
                "columns": sorted(columns),
            }
        )
    missing = book.formulas_without_value(sheet)
    if missing:
        layout.formula_cells = missing
    if book.report.ods_formulas:
        layout.notices.append({"code": "formulas", "cells": book.report.ods_formulas})


def data_rows(
    path: Path, layout: Layout, limits: Limits, start_after: int = 0
) -> Iterator[tuple[int, list[Any]]]:
    """Data rows (non-blank, under the header), from a checkpoint on."""
    first = max(layout.header_row + 1, start_after + 1)
    fmt = None
    if layout.kind == Kind.CSV and layout.delimiter:
        fmt = text.sniff(path)
    rows = raw_rows(path, layout.kind, limits, sheet=layout.sheet, text_format=fmt)
    if layout.kind == Kind.CSV:  # every CSV cell is text: "" is the only blank
        for number, cells in rows:
            if number >= first and any(cells):
                yield number, cells
        return
    for number, cells in rows:
        if number >= first and not is_blank(cells):
            yield number, cells
