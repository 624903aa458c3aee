"""The sync engine's own ledger: requested and running syncs, and records a
shop owner chose to skip.

``sync_runs`` is how at most one sync per integration runs and at most one
waits (J6): two partial unique indexes, one on the waiting row and one on
the running row, hold on SQLite and PostgreSQL alike and across processes.
A running row carries a lease and a claim token; a worker that dies leaves
a lease that runs out, and the run is picked up again from its last
committed cursor (J1, J7). See ``docs/adr/0005-sync-engine.md``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, IdMixin, TenantOwned, utcnow


class RunStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker (or for its retry time)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # finished, some records or streams failed
    FAILED = "failed"


FINISHED = frozenset({RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED})


def _one_per_integration(name: str, status: RunStatus) -> Index:
    where = text(f"status = '{status.value}'")
    return Index(
        name, "integration_id", unique=True, sqlite_where=where, postgresql_where=where
    )


class SyncRun(IdMixin, TenantOwned, Base):
    """One requested sync of one integration, from request to outcome."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        _one_per_integration("uq_sync_runs_one_queued", RunStatus.QUEUED),
        _one_per_integration("uq_sync_runs_one_running", RunStatus.RUNNING),
        Index("ix_sync_runs_company_status", "company_id", "status"),
    )

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED.value)
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    full_resync: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    log_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("sync_logs.id", ondelete="SET NULL")
    )
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncSkip(IdMixin, TenantOwned, Base):
    """A provider record the shop owner chose to skip: later syncs pass it
    over and count it as skipped instead of failed."""

    __tablename__ = "sync_skips"
    __table_args__ = (UniqueConstraint("integration_id", "stream", "record_key"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
