"""Check an xlsx/ods archive before any parser touches it (promise F2).

Refused: too many entries, too much uncompressed data, a compression ratio
only a zip bomb has, paths that climb out (``..``, absolute, drive letters),
symlinks, encrypted entries, and XML with a DOCTYPE (entity expansion,
external entities). Every entry is read through once, bounded by its declared
size, so a header that lies about sizes fails its CRC here instead of
inflating inside the parser. Formula cells are noted on the way (F5).
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from copcca.imports.errors import NotATable, PasswordProtected, TooBig, UnsafeFile
from copcca.imports.limits import Limits

CHUNK = 1 << 20
PROLOG_LIMIT = 64 * 1024
# A cell with a formula: <c r="B7" ...><f>..</f><v>..</v></c> (or <f .../>).
CELL_RE = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?>(.*?)</c>', re.S)


@dataclass
class ArchiveReport:
    entries: int = 0
    unzipped_bytes: int = 0
    # worksheet part -> formula cells per column letter
    formulas: dict[str, Counter[str]] = field(default_factory=dict)
    # worksheet part -> cells "B7" whose formula has no saved value
    formulas_without_value: dict[str, list[str]] = field(default_factory=dict)
    ods_formulas: int = 0


def check_archive(path: Path, limits: Limits) -> ArchiveReport:
    """Refuse unsafe archives; report formula cells of the worksheets."""
    report = ArchiveReport()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_directory(infos, limits, report)
            for info in infos:
                if not info.is_dir():
                    _read_entry(archive, info, report)
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise UnsafeFile(
            f"This spreadsheet archive is damaged or has been tampered with ({exc}).",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        ) from exc
    except (
        EOFError,
        OSError,
        NotImplementedError,
        ValueError,
        struct.error,
        IndexError,
        KeyError,
        OverflowError,
    ) as exc:
        raise NotATable(
            "This spreadsheet cannot be opened.",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        ) from exc
    return report


def _check_directory(
    infos: list[zipfile.ZipInfo], limits: Limits, report: ArchiveReport
) -> None:
    if len(infos) > limits.max_zip_entries:
        raise UnsafeFile(
            f"This spreadsheet holds {len(infos):,} parts, more than any real "
            "workbook.",
            fix="Save the sheet you need as a new file and upload that.",
        )
    total = 0
    for info in infos:
        _check_name(info)
        if info.flag_bits & 0x1:
            raise PasswordProtected()
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1_000_000 and ratio > limits.max_zip_ratio:
            raise UnsafeFile(
                "This spreadsheet expands to far more data than it holds (a "
                "'zip bomb'), so it was refused.",
                fix="If the file is genuine, open it in Excel, save it again and "
                "upload it.",
            )
    if total > limits.max_unzipped_bytes:
        raise TooBig(
            f"This spreadsheet unpacks to {total / 1e6:,.0f} MB; the limit is "
            f"{limits.max_unzipped_bytes / 1e6:,.0f} MB.",
            fix="Split it into smaller files, or save the sheet as CSV.",
        )
    report.entries, report.unzipped_bytes = len(infos), total


def _check_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    unsafe = (
        name.startswith(("/", "\\"))
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
        or stat.S_ISLNK(info.external_attr >> 16)
    )
    if unsafe:
        raise UnsafeFile(
            f"This spreadsheet contains a part with an unsafe path ({name[:80]!r}), "
            "so it was refused.",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        )


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, report: ArchiveReport
) -> None:
    name = info.filename
    is_xml = name.endswith((".xml", ".rels"))
    is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
    is_ods = name == "content.xml"
    prolog: bytes | None = b""
    carry = b""
    with archive.open(info) as entry:
        while chunk := entry.read(CHUNK):
            if is_xml and prolog is not None:
                prolog = _check_prolog(prolog + chunk, name)
            if is_sheet and b"<f" in carry[-2:] + chunk:
                carry = _scan_formulas(name, carry + chunk, report)
            elif is_sheet:
                carry = chunk[-4096:]
            if is_ods:
                report.ods_formulas += chunk.count(b"table:formula=")


def _check_prolog(data: bytes, name: str) -> bytes | None:
    """Refuse a DOCTYPE before the root element.

    Returns ``None`` once the root element is reached (nothing more to
    check), or the bytes seen so far when the prolog is not finished yet.
    """
    index = 0
    while True:
        start = data.find(b"<", index)
        if start < 0 or len(data) < start + 4:
            break
        if data.startswith(b"<?", start):
            end = data.find(b"?>", start)
            if end < 0:
                break
            index = end + 2
        elif data.startswith(b"<!--", start):
            end = data.find(b"-->", start)
            if end < 0:
                break
            index = end + 3
        elif data.startswith(b"<!", start):
            raise UnsafeFile(
                "This spreadsheet declares XML entities (a known attack that "
                "makes readers run out of memory or read private files), so it "
                "was refused.",
                fix="Open it in Excel or LibreOffice, save it again and upload it.",
            )
        else:
            return None
    if len(data) > PROLOG_LIMIT:
        raise UnsafeFile(
            f"A part of this spreadsheet ({name[:80]}) does not start like one.",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        )
    return data


def _scan_formulas(name: str, data: bytes, report: ArchiveReport) -> bytes:
    """Record formula cells in complete <c> elements; return the unfinished tail."""
    end = data.rfind(b"</c>")
    if end < 0:
        return data[-(1 << 22) :]
    counts = report.formulas.setdefault(name, Counter())
    missing = report.formulas_without_value.setdefault(name, [])
    for match in CELL_RE.finditer(data, 0, end + 4):
        inner = match.group(3)
        if b"<f" not in inner:
            continue
        column = match.group(1).decode()
        counts[column] += 1
        if (b"<v>" not in inner or b"<v></v>" in inner) and len(missing) < 10_000:
            missing.append(f"{column}{int(match.group(2))}")
    return data[end + 4 :]
