"""SQLite WAL checkpoints off the writers' commits.

SQLite moves the write-ahead log back into the database file ("checkpoint")
inside the commit that makes the log pass 1000 pages, and syncs the file
there. A writer that commits often pays for it at random: a C2B callback
batch (a commit every few thousand callbacks, measured at 15 to 200 ms on
this 2-core machine under load, against 1 to 2 ms for an ordinary batch
commit), and a sync page (a page of 250 orders writes a few hundred pages:
a checkpoint every few pages, a growing share of the sync's time as the
database grows; 12 % of a 100,000-order sync).

So these writers switch automatic checkpoints off for their transaction's
connection (:func:`hold_checkpoints`) and tell the process's
:class:`Checkpointer` (:func:`checkpointer`), whose thread checkpoints
instead, PASSIVE (it never blocks a writer), at most once a second while
there is something to move. The connections go back to the pool without
automatic checkpoints; the thread covers them for the life of the process.
The log stays about a second of writes long, as it would have been.
PostgreSQL needs none of this.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from sqlalchemy import text
from sqlalchemy.orm import Session

from copcca.db.session import Database

log = logging.getLogger("copcca.db")
INTERVAL = 1.0  # seconds between two checkpoints
IDLE_CHECK = 60.0  # seconds between two looks for a database gone
AUTOCHECKPOINT_OFF = text("PRAGMA wal_autocheckpoint=0")
CHECKPOINT = text("PRAGMA wal_checkpoint(PASSIVE)")


def hold_checkpoints(session: Session) -> None:
    """No automatic checkpoint in this transaction's commit (SQLite only)."""
    session.execute(AUTOCHECKPOINT_OFF)


class Checkpointer:
    """One thread per database: PASSIVE checkpoints after writes. The
    thread ends when the database object is gone."""

    def __init__(self, db: Database) -> None:
        self._db = weakref.ref(db)
        self._wrote = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="wal-checkpoint", daemon=True
        )
        self._thread.start()

    def wrote(self) -> None:
        """A writer committed: checkpoint within ``INTERVAL``."""
        self._wrote.set()

    def _run(self) -> None:
        while True:
            if not self._wrote.wait(timeout=IDLE_CHECK):
                if self._db() is None:
                    return
                continue
            time.sleep(INTERVAL)
            self._wrote.clear()
            db = self._db()
            if db is None:
                return
            try:
                with db.engine.connect() as conn:
                    conn.execute(CHECKPOINT)
            except Exception as exc:  # retried after the next write
                log.warning("WAL checkpoint failed: %s", type(exc).__name__)
            del db


_checkpointers: weakref.WeakKeyDictionary[Database, Checkpointer] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def checkpointer(db: Database) -> Checkpointer | None:
    """The process's checkpointer for ``db`` (None on PostgreSQL)."""
    if db.is_postgres:
        return None
    with _lock:
        found = _checkpointers.get(db)
        if found is None:
            found = _checkpointers[db] = Checkpointer(db)
        return found
