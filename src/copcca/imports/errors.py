"""Why a file cannot be imported, each with the next step for the owner.

All are :class:`copcca.errors.CopccaError`, so pages and the API show the
message and the fix, never a 500, and nothing is written (promise F1-F3).
"""

from __future__ import annotations

from copcca.errors import CopccaError, InvalidInput, PayloadTooLarge


class FileRefused(InvalidInput):
    """The file was refused before anything was imported."""

    code = "file_refused"


class EmptyFile(FileRefused):
    code = "empty_file"

    def __init__(self) -> None:
        super().__init__(
            "This file is empty.",
            fix="Check you picked the right file, save it again and upload it.",
        )


class NotATable(FileRefused):
    code = "not_a_table"


class PasswordProtected(FileRefused):
    code = "password_protected"

    def __init__(self) -> None:
        super().__init__(
            "This spreadsheet is protected with a password, so it cannot be read.",
            fix="Open it in Excel, remove the password (File > Info > Protect "
            "Workbook > Encrypt with Password, clear it), save and upload again.",
        )


class UnsafeFile(FileRefused):
    """Zip bombs, entity expansion, zip-slip (promise F2)."""

    code = "unsafe_file"


class Undecodable(FileRefused):
    code = "undecodable_text"


class TooBig(PayloadTooLarge):
    """Over the byte, row, column or cell-length limit (promise F1)."""

    code = "file_too_big"


class NoHeader(FileRefused):
    code = "no_header"


class SheetNotShared(FileRefused):
    code = "sheet_not_shared"


class SheetUnreachable(CopccaError):
    status_code = 502
    code = "sheet_unreachable"
