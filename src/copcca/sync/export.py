"""Sync logs as CSV, safe to open in a spreadsheet (F5).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
return or NUL would run as a formula in Excel or LibreOffice; it gets a
leading apostrophe, which both show as plain text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from copcca.models.integrations import SyncLog

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")
COLUMNS = (
    "system",
    "kind",
    "trigger",
    "started",
    "finished",
    "duration_seconds",
    "status",
    "created",
    "updated",
    "skipped",
    "failed",
    "message",
    "error_kind",
    "fix",
)


def safe_cell(value: Any) -> str:
    """The cell's text, neutralised if a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def logs_csv(rows: Iterable[SyncLog], names: Mapping[str, str], tz: str) -> str:
    """One header row and one row per log; times in the company's zone."""
    zone = ZoneInfo(tz)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for log in rows:
        writer.writerow(
            safe_cell(v)
            for v in (
                names.get(log.provider, log.provider),
                log.kind,
                log.trigger,
                log.started_at.astimezone(zone).isoformat(timespec="seconds"),
                log.finished_at.astimezone(zone).isoformat(timespec="seconds")
                if log.finished_at
                else "",
                f"{log.duration_ms / 1000:.1f}" if log.duration_ms is not None else "",
                log.status,
                log.created_count,
                log.updated_count,
                log.skipped_count,
                log.failed_count,
                log.message,
                log.error_kind,
                log.fix,
            )
        )
    return out.getvalue()
