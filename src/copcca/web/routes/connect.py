"""Connect Systems: the catalogue, one provider's connect form, and a
connected system's page (pause, resume, change credentials, disconnect)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from copcca.connectors.registry import (
    CATEGORY_LABELS,
    Category,
    all_providers,
    get_provider,
)
from copcca.errors import CopccaError, InvalidInput
from copcca.integrations import service
from copcca.integrations.credentials import open_secrets, secret_fields
from copcca.integrations.schemas import config_fields
from copcca.integrations.stats import health_of
from copcca.models.integrations import Frequency
from copcca.sync.logs import LogFilter, SyncLogRepository
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/integrations")

FREQUENCIES = [f.value for f in Frequency]


def _matches(info: Any, q: str) -> bool:
    hay = f"{info.name} {info.key} {info.description} {info.category.value}".lower()
    return all(word in hay for word in q.lower().split())


@router.get("/connect")
def catalogue(page: PageDep, q: str = "", category: str = "") -> HTMLResponse:
    connected: dict[str, list[Any]] = {}
    for integration in service.list_integrations(page.session, page.principal):
        connected.setdefault(integration.provider, []).append(integration)
    providers = [
        p
        for p in all_providers()
        if (not category or p.category.value == category) and (not q or _matches(p, q))
    ]
    return page.render(
        "sections/connect.html",
        section="connect",
        providers=providers,
        connected=connected,
        categories=CATEGORY_LABELS,
        q=q,
        category=category if category in {c.value for c in Category} else "",
        health_of=health_of,
    )


def _form_values(form: Any, fields: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f"cfg_{f.name}")
        if f.choices == ["True", "False"] or f.name.startswith("reject_"):
            values[f.name] = raw == "on"
            continue
        if raw is None or str(raw).strip() == "":
            continue
        values[f.name] = str(raw)
    return values


@router.get("/connect/{provider}")
def connect_form(page: PageDep, provider: str) -> HTMLResponse:
    info = get_provider(provider)
    return page.render(
        "sections/connect_form.html",
        section="connect",
        info=info,
        fields=config_fields(info),
        allowed=page.principal.can_manage_category(info.category.value),
        values={},
        frequencies=FREQUENCIES,
    )


@router.post("/connect/{provider}")
async def connect_submit(request: Request, page: PageDep, provider: str) -> Response:
    info = get_provider(provider)
    form = await request.form()
    fields = config_fields(info)
    values = _form_values(form, fields)
    try:
        with page.session.begin_nested():
            integration = service.connect(
                page.session,
                page.principal,
                page.runtime.vault,
                service.NewIntegration(
                    provider=info.key,
                    credentials=values,
                    name=str(form.get("name") or "") or None,
                    frequency=str(form.get("frequency") or "hourly"),
                    streams=[str(s) for s in form.getlist("streams")] or None,
                ),
            )
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        shown = {
            k: v
            for k, v in values.items()
            if k not in set(secret_fields(info.config_model))
        }
        return page.render(
            "sections/connect_form.html",
            section="connect",
            info=info,
            fields=fields,
            allowed=True,
            values=shown,
            error=exc,
            name=form.get("name"),
            frequencies=FREQUENCIES,
            status_code=exc.status_code,
        )
    return page.redirect(
        f"/app/integrations/systems/{integration.id}",
        "Saved. Your credentials are stored encrypted.",
    )


@router.get("/systems/{integration_id}")
def system_page(page: PageDep, integration_id: uuid.UUID) -> HTMLResponse:
    integration = service.get_integration(page.session, page.principal, integration_id)
    info = get_provider(integration.provider)
    try:
        present = set(open_secrets(page.runtime.vault, integration))
        vault_ok = True
    except CopccaError:
        present, vault_ok = set(), False
    logs = SyncLogRepository(page.session, page.principal.company_id).search(
        LogFilter(integration_id=integration.id)
    )
    base = str(page.runtime.settings.base_url).rstrip("/")
    return page.render(
        "sections/system.html",
        section="connect",
        integration=integration,
        info=info,
        fields=config_fields(info),
        present=present,
        vault_ok=vault_ok,
        logs=logs.items[:10],
        frequencies=FREQUENCIES,
        health=health_of(integration),
        callback_url=(
            f"{base}/hooks/{integration.provider}/{integration.callback_token}"
            if integration.callback_token
            else None
        ),
    )


@router.post("/systems/{integration_id}")
async def system_update(
    request: Request, page: PageDep, integration_id: uuid.UUID
) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    integration = service.get_integration(page.session, page.principal, integration_id)
    info = get_provider(integration.provider)
    patch: service.IntegrationChange
    if action == "pause":
        patch, message = (
            service.IntegrationChange(paused=True),
            "Paused. Nothing syncs until you resume.",
        )
    elif action == "resume":
        patch, message = service.IntegrationChange(paused=False), "Resumed."
    elif action == "settings":
        patch = service.IntegrationChange(
            name=str(form.get("name") or integration.name),
            frequency=str(form.get("frequency") or integration.frequency),
            streams=[str(s) for s in form.getlist("streams")] or None,
        )
        message = "Settings saved."
    elif action == "credentials":
        patch = service.IntegrationChange(
            credentials=_form_values(form, config_fields(info))
        )
        message = "Credentials replaced and stored encrypted."
    elif action == "disconnect":
        service.disconnect(page.session, page.principal, integration_id)
        return page.redirect(
            "/app/integrations/connect", "Disconnected. Your CRM records are kept."
        )
    else:
        raise InvalidInput("Unknown action.")
    try:
        with page.session.begin_nested():
            service.change(
                page.session, page.principal, page.runtime.vault, integration_id, patch
            )
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        return page.redirect(f"/app/integrations/systems/{integration_id}", exc.message)
    return page.redirect(f"/app/integrations/systems/{integration_id}", message)


@router.get("/systems")
def systems_redirect() -> RedirectResponse:
    return RedirectResponse("/app/integrations/connect", status_code=303)
