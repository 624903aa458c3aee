"""Files we hand out: a template per target and the problem rows of an
import. Cells that a spreadsheet would run as a formula are neutralised
(promise F5); openpyxl must be using defusedxml (promise F2)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import openpyxl
import openpyxl.xml

from copcca.imports.targets import Target

if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is pinned
    raise RuntimeError("openpyxl is not using defusedxml; install defusedxml")

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\x00")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would treat as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def template_rows(target: Target) -> tuple[list[str], list[str]]:
    headers = [f.label for f in target.fields]
    example = [f.example for f in target.fields]
    return headers, example


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM, so Excel opens accents correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_stream(rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    yield "\ufeff".encode()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
        if buffer.tell() > 64_000:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: Iterable[Sequence[Any]], title: str = "Import") -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for row in rows:
        sheet.append([neutralise(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(target: Target, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the template for ``target``."""
    headers, example = template_rows(target)
    name = f"copcca-{target.key}-template"
    if fmt == "xlsx":
        return xlsx_bytes([headers, example], target.label), XLSX_TYPE, name + ".xlsx"
    return csv_bytes([headers, example]), "text/csv; charset=utf-8", name + ".csv"
