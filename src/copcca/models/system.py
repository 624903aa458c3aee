"""Process-wide rows that belong to no company."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, utcnow


class WorkerHeartbeat(Base):
    """The last time a background worker ran the heartbeat job."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    beats: Mapped[int] = mapped_column(Integer, default=0)


class VaultCheck(Base):
    """A known plaintext sealed with each master key, so start-up can tell a
    missing or wrong key before any real secret is needed (promise S4)."""

    __tablename__ = "vault_checks"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
