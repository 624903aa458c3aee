"""Writers that hold SQLite's automatic checkpoints leave them to the
process's checkpointer thread, and the log stays short all the same."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from copcca.db import wal
from copcca.db.session import Database

BATCH_BYTES = 2 * 1024 * 1024


def _write_batches(db: Database, batches: int, *, tell: bool) -> int:
    """Write ``batches`` transactions with checkpoints held; the largest the
    log file grew to."""
    found = wal.checkpointer(db)
    assert found is not None
    largest = 0
    for _ in range(batches):
        with db.transaction(None) as session:
            wal.hold_checkpoints(session)
            session.execute(
                text("INSERT INTO probe (body) VALUES (:body)"),
                [{"body": os.urandom(64 * 1024)} for _ in range(BATCH_BYTES // 65536)],
            )
        if tell:
            found.wrote()
            time.sleep(0.4)  # the thread checkpoints within INTERVAL (patched)
        largest = max(largest, Path(f"{db.url.split('///')[-1]}-wal").stat().st_size)
    return largest


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(wal, "INTERVAL", 0.05)
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, body BLOB)"))
    return database


def test_the_checkpointer_keeps_the_log_about_one_batch_long(db: Database) -> None:
    largest = _write_batches(db, 5, tell=True)
    assert largest < 2.5 * BATCH_BYTES


def test_without_the_checkpointer_held_checkpoints_let_the_log_grow(
    db: Database,
) -> None:
    largest = _write_batches(db, 5, tell=False)
    assert largest > 4 * BATCH_BYTES


def test_one_checkpointer_per_database_and_none_on_postgresql(
    db: Database, tmp_path: Path
) -> None:
    assert wal.checkpointer(db) is wal.checkpointer(db)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    assert wal.checkpointer(other) is not wal.checkpointer(db)
    if os.environ.get("COPCCA_TEST_PG_URL"):
        postgres = Database(os.environ["COPCCA_TEST_PG_URL"])
        assert wal.checkpointer(postgres) is None
        postgres.dispose()
