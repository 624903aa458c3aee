"""Excel (xlsx, xls) and OpenDocument (ods) through python-calamine.

Calamine reads the values the spreadsheet saved; it never runs a formula
(promise F5). xlsx and ods archives are checked before calamine opens them
(promise F2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import python_calamine as calamine

from copcca.imports.errors import NotATable, PasswordProtected, TooBig
from copcca.imports.formats.detect import Kind
from copcca.imports.formats.zipcheck import ArchiveReport, check_archive
from copcca.imports.limits import Limits


@dataclass
class Workbook:
    path: Path
    kind: Kind
    sheets: list[str]
    report: ArchiveReport = field(default_factory=ArchiveReport)
    sheet_parts: dict[str, str] = field(default_factory=dict)

    def formula_columns(self, sheet: str) -> dict[str, int]:
        part = self.sheet_parts.get(sheet, "")
        return dict(self.report.formulas.get(part, {}))

    def formulas_without_value(self, sheet: str) -> list[str]:
        part = self.sheet_parts.get(sheet, "")
        return list(self.report.formulas_without_value.get(part, []))


def open_workbook(path: Path, kind: Kind, limits: Limits) -> Workbook:
    """Check and open a workbook; list its visible worksheets."""
    report = check_archive(path, limits) if kind in (Kind.XLSX, Kind.ODS) else None
    try:
        with calamine.CalamineWorkbook.from_path(str(path)) as book:
            sheets = [
                m.name
                for m in book.sheets_metadata
                if m.typ == calamine.SheetTypeEnum.WorkSheet
                and m.visible == calamine.SheetVisibleEnum.Visible
            ] or list(book.sheet_names)
    except calamine.PasswordError as exc:
        raise PasswordProtected() from exc
    except (calamine.CalamineError, OSError, ValueError) as exc:
        raise NotATable(
            "This spreadsheet cannot be read.",
            fix="Open it in Excel or LibreOffice, save it again (as .xlsx) and "
            "upload it.",
        ) from exc
    if not sheets:
        raise NotATable(
            "This workbook has no sheets.", fix="Check you picked the right file."
        )
    book_ = Workbook(path, kind, sheets, report or ArchiveReport())
    if kind is Kind.XLSX:
        book_.sheet_parts = sheet_parts(path)
    return book_


def iter_rows(
    book: Workbook, sheet: str, limits: Limits
) -> Iterator[tuple[int, list[Any]]]:
    """(sheet row number, cells) for every row of one sheet."""
    try:
        with calamine.CalamineWorkbook.from_path(str(book.path)) as wb:
            data = wb.get_sheet_by_name(sheet)
            if data.width > limits.max_columns:
                raise TooBig(
                    f"This sheet has {data.width:,} columns; the limit is "
                    f"{limits.max_columns:,}.",
                    fix="Delete the columns you do not need and upload again.",
                )
            first = (data.start or (0, 0))[0] + 1
            for offset, row in enumerate(data.iter_rows()):
                yield first + offset, row
    except calamine.WorksheetNotFound as exc:
        raise NotATable(
            f"There is no sheet called {sheet!r} in this workbook.",
            fix="Pick one of the sheets listed.",
        ) from exc
    except calamine.CalamineError as exc:
        raise NotATable(
            "This spreadsheet cannot be read.",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        ) from exc


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name -> its XML part in an xlsx (to place formula cells)."""
    import zipfile

    from defusedxml import DefusedXmlException, ElementTree

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    ns_pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    try:
        with zipfile.ZipFile(path) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, DefusedXmlException):
        return {}
    targets = {
        r.get("Id"): str(r.get("Target", "")).lstrip("/")
        for r in rels.iter(f"{ns_pkg}Relationship")
    }
    parts: dict[str, str] = {}
    for sheet in book.iter(f"{ns_main}sheet"):
        target = targets.get(sheet.get(f"{ns_rel}id"), "")
        if target and not target.startswith("xl/"):
            target = "xl/" + target
        parts[str(sheet.get("name"))] = target
    return parts
