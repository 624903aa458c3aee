"""File imports: one row per upload, from first look to undo."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, IdMixin, TenantOwned, Timestamps


class ImportJob(IdMixin, TenantOwned, Timestamps, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_company_created", "company_id", "created_at"),
    )

    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(300))
    source_kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    stored_path: Mapped[str | None] = mapped_column(String(500))
    sheet: Mapped[str | None] = mapped_column(String(200))
    header_row: Mapped[int | None] = mapped_column(Integer)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    problems_count: Mapped[int] = mapped_column(Integer, default=0)
    dry_run: Mapped[bool] = mapped_column(default=False)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]
    # What the first look found (format, encoding, columns, sample, notices),
    # problem counts and the plan of the last check.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The mapping's memory key: a hash of the header row (see imports.mapping).
    source_key: Mapped[str | None] = mapped_column(String(64))
    # Who is running the job now, and when it last reported (resume, J7).
    runner: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
    sync_log_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The last file row a committed batch covered, and how many batches did.
    checkpoint_row: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
