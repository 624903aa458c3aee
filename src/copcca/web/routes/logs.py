"""Sync Logs: every run and webhook batch in plain words, filterable, 50
per page; a detail view with the fix and one-click actions (retry,
reconnect, skip record); CSV export of the filtered list (F5-safe)."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from copcca.connectors.registry import all_providers
from copcca.errors import CopccaError
from copcca.models.integrations import Integration, SyncStatus
from copcca.sync import actions
from copcca.sync.export import logs_csv
from copcca.sync.logs import LogFilter, SyncLogRepository
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filter(
    system: str, status: str, date_from: str, date_to: str, p: int = 1
) -> LogFilter:
    return LogFilter(
        system=system or None,
        status=status if status in {s.value for s in SyncStatus} else None,
        date_from=_date(date_from),
        date_to=_date(date_to),
        page=max(1, min(p, 100_000)),
    )


@router.get("/logs")
def logs_page(
    page: PageDep,
    system: str = "",
    status: str = "",
    date_from: str = "",
    date_to: str = "",
    p: int = 1,
) -> HTMLResponse:
    repo = SyncLogRepository(page.session, page.principal.company_id)
    flt = _filter(system, status, date_from, date_to, p)
    error: CopccaError | None = None
    try:
        result = repo.search(flt, tz=page.company.timezone)
    except CopccaError as exc:
        error = exc
        result = repo.search(LogFilter(), tz=page.company.timezone)
    params = {
        "system": system,
        "status": status,
        "date_from": date_from,
        "date_to": date_to,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    names = {p.key: p.name for p in all_providers()}
    return page.render(
        "sections/logs.html",
        section="logs",
        result=result,
        filters=params,
        query=query,
        systems=sorted(set(repo.systems()) | set()),
        names=names,
        statuses=[s.value for s in SyncStatus],
        error=error,
        filtered=any(params.values()),
    )


@router.get("/logs/export.csv")
def logs_export(
    page: PageDep,
    system: str = "",
    status: str = "",
    date_from: str = "",
    date_to: str = "",
) -> Response:
    """The filtered logs as CSV (every matching row, not one page)."""
    repo = SyncLogRepository(page.session, page.principal.company_id)
    tz = page.company.timezone
    rows = repo.export(_filter(system, status, date_from, date_to), tz=tz)
    names = {p.key: p.name for p in all_providers()}
    return csv_response(logs_csv(rows, names, tz))


def csv_response(body: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="sync-logs.csv"'},
    )


@router.get("/logs/{log_id}")
def log_detail(page: PageDep, log_id: uuid.UUID) -> HTMLResponse:
    log = SyncLogRepository(page.session, page.principal.company_id).get_or_404(log_id)
    names = {p.key: p.name for p in all_providers()}
    integration = (
        page.session.get(Integration, log.integration_id)
        if log.integration_id
        else None
    )
    return page.render(
        "sections/log_detail.html",
        section="logs",
        log=log,
        names=names,
        integration=integration,
        can_retry=actions.can_retry(log) and integration is not None,
        can_manage=integration is not None
        and page.principal.can_manage_category(integration.category),
    )


@router.post("/logs/{log_id}/retry")
def log_retry(page: PageDep, log_id: uuid.UUID) -> Response:
    here = f"/app/integrations/logs/{log_id}"
    try:
        with page.session.begin_nested():
            done = actions.retry(page.session, page.principal, log_id)
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        return page.redirect(here, f"{exc.message} {exc.fix or ''}".strip())
    if done.run_id is not None:
        return page.redirect(
            f"/app/integrations/systems/{done.integration_id}/runs/{done.run_id}",
            done.message,
        )
    return page.redirect(here, done.message)


@router.post("/logs/{log_id}/skip")
async def log_skip(request: Request, page: PageDep, log_id: uuid.UUID) -> Response:
    form = await request.form()
    raw = str(form.get("index") or "")
    here = f"/app/integrations/logs/{log_id}"
    try:
        with page.session.begin_nested():
            label = actions.skip_record(
                page.session, page.principal, log_id, int(raw) if raw.isdigit() else -1
            )
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        return page.redirect(here, exc.message)
    return page.redirect(here, f"{label} will be skipped from now on.")
