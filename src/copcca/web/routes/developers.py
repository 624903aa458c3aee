"""API & Webhooks: API keys now; outbound webhook endpoints with their issue."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from copcca.errors import CopccaError
from copcca.models.tenancy import Role
from copcca.models.webhooks import IntegrationWebhook
from copcca.security import api_keys
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations/developers")


def _page(page: PageDep, **extra: Any) -> HTMLResponse:
    keys = (
        api_keys.ApiKeyRepository(page.session, page.principal.company_id).active()
        if page.principal.is_admin
        else []
    )
    endpoints = page.session.scalars(
        select(IntegrationWebhook).where(
            IntegrationWebhook.company_id == page.principal.company_id
        )
    ).all()
    return page.render(
        "sections/developers.html",
        section="developers",
        keys=keys,
        endpoints=endpoints,
        base_url=str(page.runtime.settings.base_url).rstrip("/"),
        **extra,
    )


@router.get("")
def developers(page: PageDep) -> HTMLResponse:
    return _page(page)


@router.post("/keys")
def create_key(
    page: PageDep,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "member",
) -> Response:
    wanted = Role.ADMIN if role == "admin" else Role.MEMBER
    try:
        with page.session.begin_nested():
            row, token = api_keys.create(
                page.session, page.principal, name=name, role=wanted
            )
    except CopccaError as exc:
        if exc.status_code != 422:
            raise
        return _page(page, error=exc, status_code=exc.status_code)
    return _page(page, new_key=token, new_key_name=row.name)


@router.post("/keys/{key_id}/revoke")
def revoke_key(page: PageDep, key_id: uuid.UUID) -> Response:
    api_keys.revoke(page.session, page.principal, key_id)
    return page.redirect("/app/integrations/developers", "API key revoked.")
