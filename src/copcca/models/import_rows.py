"""What an import keeps beside its job row: the uploaded bytes, the
problems found per row, the change log that makes undo possible, and the
external ids a file brought (so a re-import matches them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, IdMixin, TenantOwned, utcnow


class ImportFileChunk(TenantOwned, Base):
    """The uploaded file in 1 MB pieces, so any worker on any machine can
    read it (no state lives on one machine's disk)."""

    __tablename__ = "import_files"

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportProblem(IdMixin, TenantOwned, Base):
    """One problem in one cell (or row) of an import, with a stable code."""

    __tablename__ = "import_problems"
    __table_args__ = (Index("ix_import_problems_job_row", "job_id", "row"),)

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE")
    )
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(200))


class ImportChange(IdMixin, TenantOwned, Base):
    """What one committed batch did: ids it created and the values it
    replaced. Written in the batch's own transaction; undo reads it back."""

    __tablename__ = "import_changes"
    __table_args__ = (UniqueConstraint("job_id", "batch"),)

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("import_jobs.id", ondelete="CASCADE")
    )
    batch: Mapped[int] = mapped_column(Integer)
    entity: Mapped[str] = mapped_column(String(32))
    first_row: Mapped[int] = mapped_column(Integer)
    last_row: Mapped[int] = mapped_column(Integer)
    created: Mapped[list[str]] = mapped_column(default=list)
    updated: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    links: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class ImportLink(IdMixin, TenantOwned, Base):
    """An id from a file's own ID column, pointing at the CRM row it became.
    Scoped by the file layout (``source_key``), so ids from two unrelated
    spreadsheets never collide."""

    __tablename__ = "import_links"
    __table_args__ = (
        UniqueConstraint("company_id", "entity", "source_key", "external_id"),
    )

    entity: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
