"""SQLite WAL checkpoints off the callback path.

SQLite moves the write-ahead log back into the database file ("checkpoint")
inside the commit that makes the log pass 1000 pages. With C2B batches of a
few kilobytes per callback that is a commit every few thousand callbacks,
and that commit (copying megabytes and syncing the file) holds up every
callback in its batch: measured at 15 to 200 ms on this 2-core machine
under load, against 1 to 2 ms for an ordinary batch commit.

So the batch writer's transactions switch automatic checkpoints off for
their connection, and this thread checkpoints instead, PASSIVE (it never
blocks a writer), once a second while there is something to move. The
connections the batcher used go back to the pool without automatic
checkpoints; this thread covers them for the life of the process.
PostgreSQL needs none of this.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from copcca.db.session import Database

log = logging.getLogger("copcca.payments")
INTERVAL = 1.0  # seconds between two checkpoints
AUTOCHECKPOINT_OFF = text("PRAGMA wal_autocheckpoint=0")
CHECKPOINT = text("PRAGMA wal_checkpoint(PASSIVE)")


def hold_checkpoints(session: Session) -> None:
    """No automatic checkpoint in this transaction's commit (SQLite only)."""
    session.execute(AUTOCHECKPOINT_OFF)


class Checkpointer:
    """One thread per database: PASSIVE checkpoints after writes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wrote = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="wal-checkpoint", daemon=True
        )
        self._thread.start()

    def wrote(self) -> None:
        """The batch writer committed: checkpoint within ``INTERVAL``."""
        self._wrote.set()

    def _run(self) -> None:
        while True:
            self._wrote.wait()
            time.sleep(INTERVAL)
            self._wrote.clear()
            try:
                with self.db.engine.connect() as conn:
                    conn.execute(CHECKPOINT)
            except Exception as exc:  # retried after the next write
                log.warning("WAL checkpoint failed: %s", type(exc).__name__)
