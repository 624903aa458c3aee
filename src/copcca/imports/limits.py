"""The size limits every import is held to (promise F1)."""

from __future__ import annotations

from dataclasses import dataclass

from copcca.config import Settings


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 100_000_000
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cell_chars: int = 10_000
    max_unzipped_bytes: int = 400_000_000
    max_zip_entries: int = 5_000
    max_zip_ratio: int = 1_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows,
            max_columns=settings.import_max_columns,
            max_cell_chars=settings.import_max_cell_chars,
            max_unzipped_bytes=settings.import_max_unzipped_bytes,
        )

    def describe_bytes(self) -> str:
        return f"{self.max_bytes / 1_000_000:.0f} MB"
