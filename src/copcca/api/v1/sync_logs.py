"""Sync logs, 50 per page, filtered by system, date range and status."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from copcca.api.deps import PrincipalDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.connectors.registry import all_providers
from copcca.errors import InvalidInput
from copcca.models.integrations import SyncStatus
from copcca.models.tenancy import Company
from copcca.security.principal import Principal
from copcca.sync import actions
from copcca.sync.export import logs_csv
from copcca.sync.logs import LogFilter, SyncLogRepository

router = APIRouter(prefix="/sync-logs", tags=["sync logs"], responses=AUTH_ERRORS)

DAY = Query(
    default=None,
    pattern=r"^\d{4}-\d{2}-\d{2}$",
    description="A day, YYYY-MM-DD, in the company's time zone (inclusive).",
)


def _day(value: str | None, field: str) -> date | None:
    """A calendar day; numbers and other spellings are refused (422)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"{field}: '{value}' is not a day.", fix="Use YYYY-MM-DD.", field=field
        ) from exc


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


def log_filter(
    system: str | None = Query(default=None, max_length=40, description="Provider key"),
    status: SyncStatus | None = None,
    date_from: str | None = DAY,
    date_to: str | None = DAY,
    integration_id: uuid.UUID | None = None,
) -> LogFilter:
    """The filters shared by the list and the CSV export."""
    return LogFilter(
        system=system,
        status=status,
        date_from=_day(date_from, "date_from"),
        date_to=_day(date_to, "date_to"),
        integration_id=integration_id,
    )


FilterDep = Annotated[LogFilter, Depends(log_filter)]


def _timezone(session: Session, principal: Principal) -> str:
    company = session.get(Company, principal.company_id)
    return company.timezone if company else "UTC"


@router.get("", response_model=SyncLogPage, responses=responses(422))
def list_sync_logs(
    session: SessionDep,
    principal: PrincipalDep,
    flt: FilterDep,
    page: int = Query(default=1, ge=1, le=100_000),
) -> SyncLogPage:
    """Newest first. Dates are days in the company's time zone, inclusive."""
    result = SyncLogRepository(session, principal.company_id).search(
        replace(flt, page=page), tz=_timezone(session, principal)
    )
    return SyncLogPage(
        items=[SyncLogOut.model_validate(r) for r in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The filtered logs."},
        **responses(422),
    },
)
def export_sync_logs(
    session: SessionDep, principal: PrincipalDep, flt: FilterDep
) -> Response:
    """Every log the filters match, as CSV; cells that a spreadsheet would
    run as a formula start with an apostrophe (F5)."""
    tz = _timezone(session, principal)
    rows = SyncLogRepository(session, principal.company_id).export(flt, tz=tz)
    body = logs_csv(rows, {p.key: p.name for p in all_providers()}, tz)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="sync-logs.csv"'},
    )


class RetryOut(BaseModel):
    message: str
    run_id: uuid.UUID | None = Field(description="The sync started, if any.")


class SkipIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    index: int | None = Field(
        default=None, ge=0, le=1000, description="Position in the log's errors."
    )


class SkipOut(BaseModel):
    skipped: str


@router.post("/{log_id}/retry", response_model=RetryOut, responses=responses(404, 409))
def retry_sync_log(
    log_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> RetryOut:
    """Run again what this log shows failed (a sync, or a webhook batch's
    failed events)."""
    done = actions.retry(session, principal, log_id)
    return RetryOut(message=done.message, run_id=done.run_id)


@router.post(
    "/{log_id}/skip", response_model=SkipOut, responses=responses(404, 409, 422)
)
def skip_sync_log_record(
    log_id: uuid.UUID, body: SkipIn, session: SessionDep, principal: PrincipalDep
) -> SkipOut:
    """Leave one failed record out of future syncs (or a failed event out of
    retries)."""
    index = -1 if body.index is None else body.index  # a missing index is a 422
    return SkipOut(skipped=actions.skip_record(session, principal, log_id, index))


@router.get("/{log_id}", response_model=SyncLogOut, responses=responses(404))
def get_sync_log(
    log_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> SyncLogOut:
    return SyncLogOut.model_validate(
        SyncLogRepository(session, principal.company_id).get_or_404(log_id)
    )
