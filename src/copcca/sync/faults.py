"""Fault points for the crash tests (J1, J2). Test-only: nothing happens
unless ``COPCCA_FAULT`` is set, which no deployment does.

``COPCCA_FAULT="<point>:<stream>:<page>"`` stops the engine at ``point``
(``before_upsert``, ``after_upsert`` = after the records, before the cursor,
or ``after_commit``) of page number ``page`` of ``stream``.
``COPCCA_FAULT_ACTION`` is ``hang`` (default: write the pid to
``COPCCA_FAULT_MARKER`` and wait to be killed with SIGKILL) or ``raise``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = frozenset({"before_upsert", "after_upsert", "after_commit"})


class FaultInjected(RuntimeError):
    """Raised at a fault point by ``COPCCA_FAULT_ACTION=raise``."""


def fault(point: str, stream: str, page: int) -> None:
    spec = os.environ.get("COPCCA_FAULT")
    if not spec or spec != f"{point}:{stream}:{page}":
        return
    marker = os.environ.get("COPCCA_FAULT_MARKER")
    if marker:  # written whole, then renamed: a watcher never reads it empty
        partial = Path(f"{marker}.partial")
        partial.write_text(str(os.getpid()))
        partial.replace(marker)
    if os.environ.get("COPCCA_FAULT_ACTION", "hang") == "raise":
        raise FaultInjected(spec)
    while True:  # pragma: no cover - ended by the test's SIGKILL
        time.sleep(1)
