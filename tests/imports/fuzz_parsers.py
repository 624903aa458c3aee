"""Fuzz the file parsers (promise F7): arbitrary and mutated CSV, xlsx and
values must end in a value or a declared CopccaError, never a crash.

Run by tests/imports/test_fuzz.py in a subprocess under a memory limit and
a time budget; can also be run alone: ``python -m tests.imports.fuzz_parsers``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from copcca.errors import CopccaError
from copcca.imports import values
from copcca.imports.formats.table import data_rows, scan
from copcca.imports.limits import Limits
from copcca.imports.targets import TARGETS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
LIMITS = Limits(
    max_bytes=2_000_000,
    max_rows=5_000,
    max_cell_chars=2_000,
    max_unzipped_bytes=20_000_000,
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _xlsx_seed() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Jina", "Simu", "Deni"])
    sheet.append(["Amina", 712345678, "=1+1"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = _xlsx_seed()


def _read(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        path = Path(handle.name)
        try:
            layout, _ = scan(path, LIMITS, TARGETS["customers"], "KE")
            for _ in data_rows(path, layout, LIMITS):
                pass
        except CopccaError:
            pass


@FUZZ
@given(st.binary(max_size=4000))
def fuzz_any_bytes(data: bytes) -> None:
    _read(data)


csv_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@FUZZ
@given(
    st.lists(st.lists(csv_cell, max_size=8), max_size=30),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def fuzz_csv(rows: list[list[str]], delimiter: str, encoding: str) -> None:
    text = "\n".join(delimiter.join(r) for r in rows)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    _read(data)


@FUZZ
@given(
    st.integers(min_value=0, max_value=len(XLSX) - 1),
    st.binary(min_size=1, max_size=64),
)
@example(offset=4331, patch=b"\x00\x00\x00\x00")  # an entry with no name
def fuzz_xlsx_bytes(offset: int, patch: bytes) -> None:
    _read(XLSX[:offset] + patch + XLSX[offset + len(patch) :])


@FUZZ
@given(
    st.sampled_from(
        [
            "xl/worksheets/sheet1.xml",
            "xl/sharedStrings.xml",
            "xl/workbook.xml",
            "[Content_Types].xml",
        ]
    ),
    st.binary(max_size=2000),
)
def fuzz_xlsx_parts(part: str, content: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(XLSX)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == part else src.read(item))
    _read(out.getvalue())


@FUZZ
@given(
    st.one_of(
        st.text(max_size=40),
        st.floats(allow_nan=True),
        st.integers(),
        st.booleans(),
        st.dates(),
        st.datetimes(),
    )
)
def fuzz_values(raw: object) -> None:
    for parse in (
        values.parse_amount,
        values.parse_int,
        values.parse_date,
        values.parse_text,
        values.phone_text,
        values.parse_currency,
        values.parse_country,
    ):
        with contextlib.suppress(values.Bad):
            parse(raw)


def main() -> int:
    for fuzz in (
        fuzz_any_bytes,
        fuzz_csv,
        fuzz_xlsx_bytes,
        fuzz_xlsx_parts,
        fuzz_values,
    ):
        fuzz()
        print(f"{fuzz.__name__}: {EXAMPLES} examples, no crash", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
