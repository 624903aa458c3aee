"""Connect Systems: the catalogue, the connect wizard's first step (the
credentials, checked live before anything is saved), and a connected
system's page (sync now, check, pause, resume, reconnect, disconnect).

Routes that call a provider read with ``ReadPageDep`` and write through
``page.write()``: no provider call runs inside a writing transaction."""

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
from copcca.payments.connection import facts as payment_facts
from copcca.sync import oauth
from copcca.sync import service as sync_service
from copcca.sync.logs import LogFilter, SyncLogRepository
from copcca.sync.runs import SyncRunRepository
from copcca.web.deps import Page, PageDep, ReadPageDep
from copcca.webhooks.inbound import subscriptions

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
        if f.kind == "boolean":  # an unticked checkbox sends nothing
            values[f.name] = raw == "on"
            continue
        if raw is None or str(raw).strip() == "":
            continue
        values[f.name] = str(raw)
    return values


def _form_context(info: Any) -> dict[str, Any]:
    fields = config_fields(info)
    flow = oauth.flow_for(info.key) if info.available else None
    return {
        "info": info,
        "fields": fields,
        "plain_fields": [f for f in fields if not f.secret],
        "oauth": flow is not None,
        "wizard": info.available,
        "frequencies": FREQUENCIES,
        "step": 1,
    }


@router.get("/connect/{provider}")
def connect_form(page: PageDep, provider: str) -> HTMLResponse:
    info = get_provider(provider)
    return page.render(
        "sections/connect_form.html",
        section="connect",
        allowed=page.principal.can_manage_category(info.category.value),
        values={},
        **_form_context(info),
    )


@router.post("/connect/{provider}")
async def connect_submit(
    request: Request, page: ReadPageDep, provider: str
) -> Response:
    """Step 1: check the credentials live with the provider; only then save
    them (sealed) and move on to choosing the data."""
    info = get_provider(provider)
    page.principal.require_category(info.category.value)
    form = await request.form()
    values = _form_values(form, config_fields(info))
    try:
        if info.available:
            result = sync_service.check_credentials(page.company, info.key, values)
            sync_service.require_ok(result)
        with page.write() as session:
            integration = service.connect(
                session,
                page.principal,
                page.runtime.vault,
                service.NewIntegration(
                    provider=info.key,
                    credentials=values,
                    name=str(form.get("name") or "") or None,
                    frequency=(
                        str(form.get("frequency") or "hourly")
                        if info.pulls or not info.available
                        else Frequency.MANUAL.value  # callbacks only: never scheduled
                    ),
                    streams=[str(s) for s in form.getlist("streams")] or None,
                    checked=info.available,
                    schedule=not info.available,
                ),
            )
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        secret_names = set(secret_fields(info.config_model))
        return page.render(
            "sections/connect_form.html",
            section="connect",
            allowed=True,
            values={k: v for k, v in values.items() if k not in secret_names},
            error=exc,
            name=form.get("name"),
            status_code=exc.status_code,
            **_form_context(info),
        )
    if info.available and info.category == Category.PAYMENTS:
        # Payments arrive by callback: no data to choose, no first sync.
        return page.redirect(
            f"/app/integrations/systems/{integration.id}",
            "Connected. Now give the provider the addresses below so payments "
            "reach you.",
        )
    if info.available:
        return page.redirect(
            f"/app/integrations/systems/{integration.id}/setup/data",
            "Connected: we reached your system with these credentials.",
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
    runs = SyncRunRepository(page.session, page.principal.company_id)
    payment = (
        payment_facts(page.session, page.principal, integration)
        if info.available and info.category == Category.PAYMENTS
        else None
    )
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
        active_run=runs.running(integration.id) or runs.waiting(integration.id),
        oauth=info.available and oauth.flow_for(info.key) is not None,
        callback_url=(
            f"{base}/hooks/{integration.provider}/{integration.callback_token}"
            if integration.callback_token
            else None
        ),
        can_subscribe=subscriptions.can_subscribe(integration.provider),
        pulls=info.pulls,
        payment=payment,
    )


@router.post("/systems/{integration_id}")
async def system_update(
    request: Request, page: ReadPageDep, integration_id: uuid.UUID
) -> Response:
    form = await request.form()
    action = str(form.get("action") or "")
    here = f"/app/integrations/systems/{integration_id}"
    integration = service.get_integration(page.session, page.principal, integration_id)
    info = get_provider(integration.provider)
    try:
        if action in ("sync", "full_sync"):
            if info.available and not info.pulls:
                return page.redirect(
                    here,
                    f"{info.name} sends its payments to us by itself: there is "
                    "nothing to sync. The page shows when the last one arrived.",
                )
            return _sync_now(page, integration_id, full=action == "full_sync")
        if action == "webhooks":
            added = subscriptions.subscribe(
                page.runtime, page.principal, integration_id
            )
            return page.redirect(
                here,
                "Live updates are on." if added else "Live updates were already on.",
            )
        if action == "check":
            result = sync_service.check_integration(
                page.runtime.db, page.runtime.vault, page.principal, integration_id
            )
            return page.redirect(
                here,
                result.message
                + (f" {result.fix}" if result.fix and not result.ok else ""),
            )
        if action == "credentials" and info.available:
            values = _form_values(form, config_fields(info))
            done = sync_service.reconnect(
                page.runtime.db,
                page.runtime.vault,
                page.principal,
                integration_id,
                values,
            )
            if done.run is not None:
                return page.redirect(
                    f"{here}/runs/{done.run.id}",
                    "Reconnected: the credentials work. Syncing again now.",
                )
            return page.redirect(here, "Reconnected: the credentials work.")
        if action == "disconnect":
            with page.write() as session:
                service.disconnect(session, page.principal, integration_id)
            return page.redirect(
                "/app/integrations/connect", "Disconnected. Your CRM records are kept."
            )
        patch, message = _patch_for(action, form, integration, info)
        with page.write() as session:
            service.change(
                session, page.principal, page.runtime.vault, integration_id, patch
            )
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        fix = f" {exc.fix}" if exc.fix else ""
        return page.redirect(here, exc.message + fix)
    return page.redirect(here, message)


def _sync_now(page: Page, integration_id: uuid.UUID, *, full: bool) -> Response:
    with page.write() as session:
        req = sync_service.request_sync(
            session, page.principal, integration_id, full_resync=full
        )
        run_id = req.run.id
    flash = (
        "Sync started."
        if req.created
        else "A sync was already waiting; it covers this."
    )
    return page.redirect(
        f"/app/integrations/systems/{integration_id}/runs/{run_id}", flash
    )


def _patch_for(
    action: str, form: Any, integration: Any, info: Any
) -> tuple[service.IntegrationChange, str]:
    if action == "pause":
        return (
            service.IntegrationChange(paused=True),
            "Paused. Nothing syncs until you resume.",
        )
    if action == "resume":
        return service.IntegrationChange(paused=False), "Resumed."
    if action == "settings":
        return (
            service.IntegrationChange(
                name=str(form.get("name") or integration.name),
                frequency=str(form.get("frequency") or integration.frequency),
                streams=[str(s) for s in form.getlist("streams")] or None,
            ),
            "Settings saved.",
        )
    if action == "credentials":
        return (
            service.IntegrationChange(
                credentials=_form_values(form, config_fields(info))
            ),
            "Credentials replaced and stored encrypted.",
        )
    raise InvalidInput("Unknown action.")


@router.get("/systems")
def systems_redirect() -> RedirectResponse:
    return RedirectResponse("/app/integrations/connect", status_code=303)
