"""Reading files: type by content (F3), encodings (F4), archive safety (F2),
limits (F1), formulas and exports (F5), headers below a title block."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.xml
import pytest

from copcca.imports import exports
from copcca.imports.errors import NotATable, TooBig, UnsafeFile
from copcca.imports.formats.detect import Kind, detect
from copcca.imports.formats.table import data_rows, scan
from copcca.imports.limits import Limits
from copcca.imports.targets import TARGETS

CUSTOMERS = TARGETS["customers"]
TABLE = [
    ["Nom", "Téléphone", "Ville", "Montant dû"],
    ["Crème brûlée", "0712345678", "Côte d'Ivoire", "KSh 1,000"],
    ["Élodie Ngugi", "+254 722 000 111", "Nairobi", "1.000,50"],
]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _read(
    path: Path, limits: Limits | None = None
) -> tuple[list[str], list[list[object]]]:
    layout, _ = scan(path, limits or Limits(), CUSTOMERS, "KE")
    rows = [cells for _, cells in data_rows(path, layout, limits or Limits())]
    return layout.columns, rows


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter"),
    [
        ("utf-8", b"", ","),
        ("utf-8", b"\xef\xbb\xbf", ","),
        ("utf-16-le", b"\xff\xfe", "\t"),
        ("cp1252", b"", ";"),
        ("utf-8", b"", ";"),
        ("cp1252", b"", ","),
    ],
)
def test_same_table_in_every_encoding_reads_identically(
    tmp_path: Path, encoding: str, bom: bytes, delimiter: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(bom + _csv(TABLE, delimiter).encode(encoding))
    columns, rows = _read(path)
    assert columns == TABLE[0]
    assert rows == TABLE[1:]


def test_type_is_decided_by_content_not_name(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Name", "Phone"])
    book.active.append(["Amina", "0712345678"])
    renamed = tmp_path / "customers.csv"
    book.save(renamed)
    assert detect(renamed) is Kind.XLSX
    text = tmp_path / "customers.xlsx"
    text.write_text("Name,Phone\nAmina,0712345678\n")
    assert detect(text) is Kind.CSV
    other_zip = tmp_path / "photos.csv"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(NotATable, match="zip archive, not a spreadsheet"):
        detect(other_zip)


def _xlsx_with(
    tmp_path: Path,
    name: str,
    data: bytes,
    *,
    extra: dict[str, bytes] | None = None,
    compress: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A real workbook with one part replaced or added."""
    base = tmp_path / "base.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Name", "Phone"])
    book.save(base)
    out = tmp_path / name
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", compress) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        for part, content in (extra or {}).items():
            dst.writestr(part, content)
    return out


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = _xlsx_with(
        tmp_path, "bomb.xlsx", b"", extra={"xl/media/pad.bin": b"\0" * 50_000_000}
    )
    with pytest.raises(UnsafeFile, match="zip bomb"):
        scan(bomb, Limits(), CUSTOMERS, "KE")


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<sst>&lol2;</sst>"
    )
    path = _xlsx_with(
        tmp_path, "laughs.xlsx", b"", extra={"xl/sharedStrings2.xml": laughs}
    )
    with pytest.raises(UnsafeFile, match="declares XML entities"):
        scan(path, Limits(), CUSTOMERS, "KE")


def test_external_entity_is_refused(tmp_path: Path) -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE x [<!ENTITY e SYSTEM '
        b'"file:///etc/passwd">]><x>&e;</x>'
    )
    path = _xlsx_with(tmp_path, "xxe.xlsx", b"", extra={"xl/custom.xml": xxe})
    with pytest.raises(UnsafeFile, match="declares XML entities"):
        scan(path, Limits(), CUSTOMERS, "KE")


@pytest.mark.parametrize("name", ["../../evil.txt", "/etc/cron.d/x", "C:\\x.txt"])
def test_zip_slip_paths_are_refused(tmp_path: Path, name: str) -> None:
    path = _xlsx_with(tmp_path, "slip.xlsx", b"", extra={name: b"x"})
    with pytest.raises(UnsafeFile, match="unsafe path"):
        scan(path, Limits(), CUSTOMERS, "KE")


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    base = _xlsx_with(tmp_path, "plain.xlsx", b"")
    out = tmp_path / "link.xlsx"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        link = zipfile.ZipInfo("xl/link")
        link.external_attr = 0o120777 << 16
        dst.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeFile):
        scan(out, Limits(), CUSTOMERS, "KE")


def test_limits_refuse_early(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("Name,Phone\n" + "A,0712345678\n" * 11)
    with pytest.raises(TooBig, match="more than 10 rows"):
        scan(path, Limits(max_rows=10), CUSTOMERS, "KE")
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("x" * 30) + "\n"
    )
    with pytest.raises(TooBig, match="30 columns; the limit is 20"):
        scan(wide, Limits(max_columns=20), CUSTOMERS, "KE")


def test_header_below_a_title_block_and_formulas_noticed(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Wateja"
    sheet.append(["Duka la Mama Njeri — orodha ya wateja"])
    sheet.append([])
    sheet.append(["Jina", "Simu", "Deni", "Tarehe"])
    sheet.append(["Amina", 712345678, 1500.5, datetime.date(2024, 3, 5)])
    sheet.append(["Baraka", "0722000111", "=C4*2", None])
    other_sheet = book.create_sheet("Bidhaa")
    other_sheet.append(["Bidhaa", "Bei"])
    other_sheet.append(["Unga", 210])
    path = tmp_path / "duka.xlsx"
    book.save(path)
    layout, _ = scan(path, Limits(), CUSTOMERS, "KE")
    assert (layout.header_row, layout.columns) == (
        3,
        ["Jina", "Simu", "Deni", "Tarehe"],
    )
    assert layout.sheets == ["Wateja", "Bidhaa"]
    assert layout.notices == [{"code": "formulas", "cells": 1, "columns": ["C"]}]
    assert layout.formula_cells == ["C5"]  # saved by openpyxl: no cached value
    rows = [c for _, c in data_rows(path, layout, Limits())]
    assert rows[0][:3] == ["Amina", 712345678.0, 1500.5]
    other, _ = scan(path, Limits(), TARGETS["products"], "KE", sheet="Bidhaa")
    assert other.sheet == "Bidhaa"


def test_openpyxl_parses_with_defusedxml() -> None:
    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_exports_neutralise_formula_cells(cell: str) -> None:
    text = exports.csv_bytes([["Notes"], [cell]]).decode("utf-8-sig")
    exported = list(csv.reader(io.StringIO(text)))[1][0]
    assert exported == "'" + cell
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes([["Notes"], [cell]])))
    assert str(book.active["A2"].value).startswith("'")  # XML turns CR into LF
    assert book.active["A2"].data_type == "s"


def test_neutralised_cells_read_back_as_the_original_value() -> None:
    from copcca.imports.values import parse_text

    assert parse_text("'+254 712 345 678") == "+254 712 345 678"
