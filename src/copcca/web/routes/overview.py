"""Overview: what is connected, how healthy it is, what ran lately."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from copcca.connectors.registry import get_provider
from copcca.integrations.stats import compute, health_of
from copcca.jobs.heartbeat import worker_health
from copcca.payments.service import attention as payments_attention
from copcca.sync.logs import SyncLogRepository
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations")


@router.get("/")
def overview(page: PageDep, welcome: int = 0) -> HTMLResponse:
    stats = compute(page.session, page.principal)
    recent = SyncLogRepository(page.session, page.principal.company_id).recent(5)
    return page.render(
        "sections/overview.html",
        section="overview",
        stats=stats,
        worker=worker_health(page.runtime.db),
        recent=recent,
        welcome=bool(welcome),
        health_of=health_of,
        provider=get_provider,
        payments=payments_attention(page.session, page.principal),
    )
