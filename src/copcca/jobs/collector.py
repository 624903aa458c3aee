"""The cycle collector during bulk work: a sync or an import.

CPython runs a young collection each time 700 more container objects
(dicts, lists, ORM states…) have been made than freed, and every so often a
full one over everything alive: the modules, the ORM's metadata, the caches
a sync keeps for its page. A sync of 100,000 orders spent about a sixth of
its time there (``bench/shopify_sync.py``) and freed next to nothing: the
rows, records and dicts of a page die by reference counting.

Inside :func:`bulk_work` what already existed is frozen (``gc.freeze``:
left out of every collection) and young collections run every 10,000
allocations instead of 700. Cycles the work itself makes are still
collected. When the last bulk job running in the process ends, the old
thresholds come back and the frozen objects are collected as usual again.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Run the block with the collector tuned for bulk work; nests, and
    may be entered from several threads at once."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()
