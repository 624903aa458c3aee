"""Sync logs, 50 per page, filtered by system, date range and status."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from copcca.api.deps import PrincipalDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.models.integrations import SyncStatus
from copcca.models.tenancy import Company
from copcca.sync.logs import LogFilter, SyncLogRepository

router = APIRouter(prefix="/sync-logs", tags=["sync logs"], responses=AUTH_ERRORS)


class SyncLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    integration_id: uuid.UUID | None
    provider: str
    kind: str
    stream: str | None
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    created_count: int
    updated_count: int
    skipped_count: int
    failed_count: int
    message: str
    error_kind: str | None
    fix: str | None
    errors: list[dict[str, Any]]


class SyncLogPage(BaseModel):
    items: list[SyncLogOut]
    total: int
    page: int
    per_page: int
    pages: int


@router.get("", response_model=SyncLogPage, responses=responses(422))
def list_sync_logs(
    session: SessionDep,
    principal: PrincipalDep,
    system: str | None = Query(default=None, max_length=40, description="Provider key"),
    status: SyncStatus | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: uuid.UUID | None = None,
    page: int = Query(default=1, ge=1, le=100_000),
) -> SyncLogPage:
    """Newest first. Dates are days in the company's time zone, inclusive."""
    company = session.get(Company, principal.company_id)
    tz = company.timezone if company else "UTC"
    result = SyncLogRepository(session, principal.company_id).search(
        LogFilter(
            system=system,
            status=status,
            date_from=date_from,
            date_to=date_to,
            integration_id=integration_id,
            page=page,
        ),
        tz=tz,
    )
    return SyncLogPage(
        items=[SyncLogOut.model_validate(r) for r in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.get("/{log_id}", response_model=SyncLogOut, responses=responses(404))
def get_sync_log(
    log_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> SyncLogOut:
    return SyncLogOut.model_validate(
        SyncLogRepository(session, principal.company_id).get_or_404(log_id)
    )
