"""Decide what a file is from its content (promise F3).

A zip with ``[Content_Types].xml`` and a workbook part is xlsx; a zip whose
``mimetype`` says so is ods; an OLE2 compound file is xls, unless it holds an
``EncryptedPackage`` (a password-protected xlsx). Anything else must decode
as text to be read as CSV.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from enum import StrEnum
from pathlib import Path

from copcca.imports.errors import EmptyFile, NotATable, PasswordProtected

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# Well-known binary formats people upload by mistake, named in the message.
KNOWN_BINARIES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
)


class Kind(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    XLS = "xls"
    ODS = "ods"


def detect(path: Path) -> Kind:
    """The kind of table in ``path``, or a clear refusal."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise EmptyFile()
    if head.startswith(ZIP_MAGIC):
        return _zip_kind(path)
    if head.startswith(OLE2_MAGIC):
        return _ole_kind(path)
    for magic, what in KNOWN_BINARIES:
        if head.startswith(magic):
            raise NotATable(
                f"This file is {what}, not a spreadsheet.",
                fix="Upload the Excel, CSV or OpenDocument file that holds your table.",
            )
    return Kind.CSV


def _zip_kind(path: Path) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names and any(
                n.startswith("xl/") for n in names
            ):
                return Kind.XLSX
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    if entry.read(len(ODS_MIME) + 1).strip() == ODS_MIME:
                        return Kind.ODS
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        NotImplementedError,
        struct.error,
        zlib.error,
    ) as exc:
        raise NotATable(
            "This file looks like a zip archive but it is damaged.",
            fix="Open it in Excel or LibreOffice, save it again and upload it.",
        ) from exc
    raise NotATable(
        "This is a zip archive, not a spreadsheet.",
        fix="Unzip it and upload the Excel or CSV file inside.",
    )


def _ole_kind(path: Path) -> Kind:
    # The directory of a compound file names its streams in UTF-16; an
    # encrypted xlsx carries "EncryptedPackage". Scan in chunks with overlap.
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if ENCRYPTED_PACKAGE in tail + chunk:
                raise PasswordProtected()
            tail = chunk[-len(ENCRYPTED_PACKAGE) :]
    return Kind.XLS
