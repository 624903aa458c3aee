"""Sync logs: what ran, what it did, and in plain words what went wrong."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.errors import InvalidInput
from copcca.models.integrations import SyncLog, SyncStatus

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class LogFilter:
    system: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    integration_id: object | None = None
    page: int = 1

    def validated(self) -> LogFilter:
        if self.status and self.status not in {s.value for s in SyncStatus}:
            raise InvalidInput(
                "Status must be one of running, success, partial, failed, skipped.",
                field="status",
            )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidInput(
                "The start date is after the end date.", field="date_from"
            )
        if self.page < 1 or self.page > 100_000:
            raise InvalidInput("Page must be 1 or more.", field="page")
        return self


@dataclass(frozen=True)
class LogPage:
    items: Sequence[SyncLog]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class SyncLogRepository(TenantRepository[SyncLog]):
    model = SyncLog
    noun = "sync log"

    def search(self, flt: LogFilter, tz: str = "UTC") -> LogPage:
        stmt = self.filtered(flt, tz)
        total = self.count(stmt)
        rows = self.all(
            stmt.order_by(SyncLog.started_at.desc(), SyncLog.id)
            .limit(PAGE_SIZE)
            .offset((flt.page - 1) * PAGE_SIZE)
        )
        return LogPage(items=rows, total=total, page=flt.page, per_page=PAGE_SIZE)

    def export(self, flt: LogFilter, tz: str = "UTC") -> Sequence[SyncLog]:
        """Every log the filter matches (newest first, capped), for CSV."""
        stmt = self.filtered(flt, tz).order_by(SyncLog.started_at.desc(), SyncLog.id)
        return self.all(stmt.limit(EXPORT_LIMIT))

    def filtered(self, flt: LogFilter, tz: str = "UTC") -> Select[Any]:
        """The SELECT for a filter (dates are days in ``tz``, inclusive)."""
        flt = flt.validated()
        zone = ZoneInfo(tz)
        stmt = self.select()
        if flt.system:
            stmt = stmt.where(SyncLog.provider == flt.system)
        if flt.status:
            stmt = stmt.where(SyncLog.status == flt.status)
        if flt.integration_id:
            stmt = stmt.where(SyncLog.integration_id == flt.integration_id)
        if flt.date_from:
            start = datetime.combine(flt.date_from, time.min, tzinfo=zone)
            stmt = stmt.where(SyncLog.started_at >= start)
        if flt.date_to:
            end = datetime.combine(
                flt.date_to + timedelta(days=1), time.min, tzinfo=zone
            )
            stmt = stmt.where(SyncLog.started_at < end)
        return stmt

    def recent(self, limit: int = 5) -> Sequence[SyncLog]:
        return self.all(self.select().order_by(SyncLog.started_at.desc()).limit(limit))

    def systems(self) -> list[str]:
        stmt = (
            select(SyncLog.provider)
            .where(SyncLog.company_id == self.company_id)
            .group_by(SyncLog.provider)
            .order_by(SyncLog.provider)
        )
        return list(self.session.scalars(stmt))

    def counts_since(self, since: datetime) -> dict[str, int]:
        stmt = (
            select(SyncLog.status, func.count())
            .where(SyncLog.company_id == self.company_id, SyncLog.started_at >= since)
            .group_by(SyncLog.status)
        )
        return {status: int(n) for status, n in self.session.execute(stmt).all()}


def start_log(
    session: Session,
    company_id: uuid.UUID,
    *,
    provider: str,
    integration_id: uuid.UUID | None = None,
    kind: str = "sync",
    trigger: str = "manual",
    stream: str | None = None,
    message: str = "",
) -> SyncLog:
    """Open a log row for a run that is starting now."""
    log = SyncLog(
        company_id=company_id,
        integration_id=integration_id,
        provider=provider,
        kind=kind,
        trigger=trigger,
        stream=stream,
        status=SyncStatus.RUNNING.value,
        started_at=utcnow(),
        message=message,
    )
    session.add(log)
    return log


MAX_ERROR_SAMPLES = 20


def finish_log(
    log: SyncLog,
    *,
    status: SyncStatus,
    message: str,
    created: int = 0,
    updated: int = 0,
    skipped: int = 0,
    failed: int = 0,
    error_kind: str | None = None,
    fix: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> SyncLog:
    """Close a run's log with its counts and, for errors, the plain fix."""
    log.finished_at = utcnow()
    log.duration_ms = int((log.finished_at - log.started_at).total_seconds() * 1000)
    log.status = status.value
    log.message = message
    log.created_count, log.updated_count = created, updated
    log.skipped_count, log.failed_count = skipped, failed
    log.error_kind, log.fix = error_kind, fix
    log.errors = list(errors or [])[:MAX_ERROR_SAMPLES]
    return log


def fail_log(
    log: SyncLog, *, message: str, fix: str | None, error_kind: str | None
) -> SyncLog:
    """Close a run's log as failed, keeping the counts and samples it reached."""
    return finish_log(
        log,
        status=SyncStatus.FAILED,
        message=message,
        fix=fix,
        error_kind=error_kind,
        errors=log.errors,
        created=log.created_count,
        updated=log.updated_count,
        skipped=log.skipped_count,
        failed=log.failed_count,
    )
