"""CSV, TSV and pasted rows: encoding, delimiter and a streaming reader.

Excel saves CSV as UTF-8 (with or without a BOM), UTF-16 ("Unicode text")
or the Windows code page (cp1252); all four read identically (promise F4).
The file is decoded as it is read, never loaded whole; a byte that does not
decode stops the read with the row it is on.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from copcca.imports.errors import NotATable, TooBig, Undecodable
from copcca.imports.limits import Limits

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# What Windows spreadsheets actually write, most likely first; the detector
# only chooses among these, so a short sample cannot pick something exotic.
LEGACY = ("cp1252", "latin_1", "cp1250", "mac_roman")
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32-le": "UTF-32",
    "utf-32-be": "UTF-32",
    "cp1252": "Windows (cp1252)",
    "latin_1": "Latin-1",
    "cp1250": "Windows (cp1250)",
    "mac_roman": "Mac Roman",
}


@dataclass(frozen=True)
class TextFormat:
    encoding: str
    bom: int  # bytes to skip
    delimiter: str

    @property
    def label(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)


def sniff(path: Path) -> TextFormat:
    """Encoding and delimiter of a text table, from its first bytes."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding, bom = detect_encoding(sample)
    text = _decode_sample(sample[bom:], encoding)
    if "\x00" in text:
        raise NotATable(
            "This file is not a text table: it holds binary data.",
            fix="Upload the Excel or CSV file itself (not a picture, PDF or "
            "program renamed to .csv).",
        )
    return TextFormat(encoding, bom, sniff_delimiter(text))


def detect_encoding(sample: bytes) -> tuple[str, int]:
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name, len(bom)
    if _looks_utf16(sample):
        return ("utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"), 0
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(sample):
        return "utf-8", 0  # UTF-8 with a damaged byte: the reader names its row
    best = from_bytes(sample, cp_isolation=list(LEGACY)).best()
    if best is not None and best.encoding in LEGACY:
        return best.encoding, 0
    return "cp1252", 0


def _mostly_utf8(sample: bytes) -> bool:
    """Real UTF-8 text (accents decode as multi-byte characters) with a few
    bytes that do not: a damaged UTF-8 file, not a Windows one."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    return multibyte > 0 and bad <= multibyte


def _looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a BOM: every other byte of ASCII text is NUL."""
    probe = sample[:4096]
    if len(probe) < 8:
        return False
    evens, odds = probe[0::2], probe[1::2]
    return (odds.count(0) > 0.7 * len(odds)) != (evens.count(0) > 0.7 * len(evens))


def _decode_sample(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return str(decoder.decode(sample, final=False))


def sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the most consistent
    number of columns (ties: tab, semicolon, comma, pipe)."""
    lines = text.splitlines()[:60]
    if len(text) >= SAMPLE_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    lines = [line for line in lines if line.strip()]
    best, best_score = ",", -1.0
    for delimiter in ("\t", ";", ",", "|"):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts:
            continue
        width, hits = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = hits / len(counts) + min(width, 50) / 1000
        if score > best_score:
            best, best_score = delimiter, score
    return best


def open_text(path: Path, fmt: TextFormat) -> io.TextIOWrapper:
    handle = path.open("rb")
    handle.seek(fmt.bom)
    return io.TextIOWrapper(handle, encoding=fmt.encoding, errors="strict", newline="")


def iter_rows(path: Path, fmt: TextFormat, limits: Limits) -> Iterator[list[str]]:
    """Every record of the file, as lists of strings, decoded as read."""
    csv.field_size_limit(limits.max_cell_chars)
    number = 0
    with open_text(path, fmt) as stream:
        reader = csv.reader(stream, delimiter=fmt.delimiter)
        try:
            for number, row in enumerate(reader, 1):  # noqa: B007
                yield row
        except UnicodeDecodeError as exc:
            row_no = locate_decode_error(path, fmt)
            raise Undecodable(
                f"Row {row_no} is not valid {fmt.label} text, so the file cannot "
                "be read safely.",
                fix="Open the file in Excel and save it as 'CSV UTF-8', then "
                "upload it again.",
                row=row_no,
            ) from exc
        except csv.Error as exc:
            _raise_csv_error(exc, number + 1, limits)


def _raise_csv_error(exc: csv.Error, row: int, limits: Limits) -> None:
    text = str(exc)
    if "field larger than field limit" in text:
        raise TooBig(
            f"Row {row} has a cell longer than {limits.max_cell_chars:,} characters.",
            fix="Shorten that cell (or split the text over several columns) and "
            "upload again.",
            row=row,
        ) from exc
    if "NUL" in text:
        raise NotATable(
            f"Row {row} holds binary data, so this is not a text table.",
            fix="Upload the Excel or CSV file itself.",
            row=row,
        ) from exc
    raise NotATable(
        f"Row {row} cannot be read as a table row ({text}).",
        fix="Open the file in Excel, save it as CSV and upload it again.",
        row=row,
    ) from exc


def locate_decode_error(path: Path, fmt: TextFormat) -> int:
    """The record number holding the first byte that does not decode.

    Only called after a failure: decodes line by line to find it exactly.
    """
    decoder = codecs.getincrementaldecoder(fmt.encoding)(errors="strict")

    def good_lines() -> Iterator[str]:
        with path.open("rb") as handle:
            handle.seek(fmt.bom)
            for raw in handle:
                try:
                    yield decoder.decode(raw)
                except UnicodeDecodeError:
                    return

    records = 0
    try:
        for records, _ in enumerate(csv.reader(good_lines(), strict=False), 1):  # noqa: B007
            pass
    except csv.Error:
        pass  # a stray carriage return: the count so far still places the row
    return records + 1
