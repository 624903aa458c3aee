"""Engine set-up and the unit of work: one request or one job is one
transaction, committed here and nowhere else.

On PostgreSQL every transaction first sets ``app.company_id`` (and
``app.user_id``) with ``set_config(..., true)``, so row-level security sees
only that company and the setting dies with the transaction: a pooled
connection reused later starts with no tenant at all (promise T3).

On SQLite, pysqlite's own transaction handling is switched off and we emit
``BEGIN`` ourselves: ``BEGIN IMMEDIATE`` for writing units so two writers
queue on the lock instead of failing when a read upgrades to a write.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

WRITE_OPTION = "copcca_write"
AFTER_COMMIT = "copcca_after_commit"
SQLITE_CACHE_KB = 64 * 1024
_BULK_CACHE = text(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine configured for SQLite (WAL, explicit BEGIN) or PostgreSQL."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql"):
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
    return create_engine(url, poolclass=NullPool)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine and the two ways to open a unit of work on it."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self._writer = sessionmaker(bind=writer, expire_on_commit=False)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(
        self,
        company_id: uuid.UUID | None = None,
        *,
        user_id: uuid.UUID | None = None,
        write: bool = True,
    ) -> Iterator[Session]:
        """Open a session in one transaction for one company, commit on success.

        ``company_id=None`` is the system context: on PostgreSQL it sees no
        tenant row at all.
        """
        maker = self._writer if write else self._reader
        with maker() as session:
            with session.begin():
                if self.is_postgres:
                    set_tenant(session, company_id, user_id)
                session.info["company_id"] = company_id
                yield session
            for callback in session.info.pop(AFTER_COMMIT, []):
                callback()

    def dispose(self) -> None:
        self.engine.dispose()


def on_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` once this unit of work has committed (e.g. enqueue a
    job only when the rows it needs are visible to the worker)."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def set_tenant(
    session: Session, company_id: uuid.UUID | None, user_id: uuid.UUID | None = None
) -> None:
    """Point row-level security at one company for the rest of the transaction."""
    session.execute(
        text(
            "select set_config('app.company_id', :company, true),"
            " set_config('app.user_id', :user, true)"
        ),
        {
            "company": str(company_id) if company_id else "",
            "user": str(user_id) if user_id else "",
        },
    )


def bulk_mode(session: Session) -> None:
    """On SQLite, a 64 MB page cache for this transaction's connection (the
    default is 2 MB), for bulk writers (a sync page, an import batch): they
    grow several indexes at once, and index pages that stay cached from one
    batch to the next need not be read back from the file."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_BULK_CACHE)
