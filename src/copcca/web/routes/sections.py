"""Mapping & Rules and Insights Center (the Import Center is in imports.py).

Their engines arrive with their own issues; until then each shows its real
state (counts of what exists) and the next step, never made-up data.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from copcca.models.crm import Customer, Invoice, Payment, Product, Sale
from copcca.models.integrations import DeduplicationRule, IntegrationMapping, SyncRule
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations")


def _count(page: PageDep, model: type) -> int:
    stmt = (
        select(func.count())
        .select_from(model)
        .where(
            model.company_id == page.principal.company_id  # type: ignore[attr-defined]
        )
    )
    return int(page.session.scalar(stmt) or 0)


@router.get("/rules")
def mapping_rules(page: PageDep) -> HTMLResponse:
    company = page.principal.company_id
    rules = page.session.scalars(
        select(SyncRule)
        .where(SyncRule.company_id == company)
        .order_by(SyncRule.created_at)
    ).all()
    mappings = page.session.scalars(
        select(IntegrationMapping)
        .where(IntegrationMapping.company_id == company)
        .order_by(IntegrationMapping.updated_at.desc())
    ).all()
    dedup = page.session.scalars(
        select(DeduplicationRule).where(DeduplicationRule.company_id == company)
    ).all()
    return page.render(
        "sections/rules.html",
        section="rules",
        rules=rules,
        mappings=mappings,
        dedup=dedup,
    )


@router.get("/insights")
def insights(page: PageDep) -> HTMLResponse:
    counts = {
        "customers": _count(page, Customer),
        "products": _count(page, Product),
        "sales": _count(page, Sale),
        "invoices": _count(page, Invoice),
        "payments": _count(page, Payment),
    }
    return page.render("sections/insights.html", section="insights", counts=counts)
