"""Sync Logs: every run in plain words, filterable, 50 per page."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from copcca.connectors.registry import all_providers
from copcca.errors import CopccaError
from copcca.models.integrations import SyncStatus
from copcca.sync.logs import LogFilter, SyncLogRepository
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


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
    flt = LogFilter(
        system=system or None,
        status=status if status in {s.value for s in SyncStatus} else None,
        date_from=_date(date_from),
        date_to=_date(date_to),
        page=max(1, min(p, 100_000)),
    )
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


@router.get("/logs/{log_id}")
def log_detail(page: PageDep, log_id: uuid.UUID) -> HTMLResponse:
    log = SyncLogRepository(page.session, page.principal.company_id).get_or_404(log_id)
    names = {p.key: p.name for p in all_providers()}
    return page.render("sections/log_detail.html", section="logs", log=log, names=names)
