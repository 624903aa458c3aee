"""Callbacks first, processing second, within one process.

Providers give a callback a few seconds; matching a payment to an invoice
can wait. Whatever stores deliveries calls ``stored()``; the inbox job
calls ``yield_to_callbacks()`` between batches, so under a burst of
callbacks the job steps aside instead of competing for the database's
single writer (SQLite) and the cores.
"""

from __future__ import annotations

import time

_last_store = 0.0  # when this process last stored deliveries (monotonic)


def stored() -> None:
    """Deliveries were just committed."""
    global _last_store
    _last_store = time.monotonic()


def yield_to_callbacks(*, quiet: float = 0.3, max_wait: float = 20.0) -> float:
    """Return once no deliveries were stored for ``quiet`` seconds, or after
    ``max_wait`` (so sustained traffic delays processing, never stops it).
    Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - _last_store < quiet:
        if time.monotonic() - started >= max_wait:
            break
        time.sleep(quiet)
    return time.monotonic() - started
