"""The connect wizard after step 1, as a shop owner sees it: (2) choose the
data, with a preview of real records before anything is written; (3) how
often; (4) start the first sync and watch it. Plus the OAuth sign-in
(start and callback) and a run's live progress page. Every step is a plain
form or link: it works without JavaScript and on a 360 px phone."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from copcca.connectors.errors import ProviderError
from copcca.connectors.registry import get_provider
from copcca.errors import CopccaError, NotFound
from copcca.integrations import service
from copcca.integrations.schemas import config_fields
from copcca.models.integrations import Frequency, Integration, SyncLog
from copcca.models.sync import FINISHED
from copcca.sync import oauth
from copcca.sync import preview as previews
from copcca.sync import service as sync_service
from copcca.web.deps import Page, PageDep, ReadPageDep

router = APIRouter(prefix="/app/integrations")

FREQUENCIES = [f.value for f in Frequency]


def _setup(page: Page, integration_id: uuid.UUID) -> Integration:
    integration = service.get_integration(page.session, page.principal, integration_id)
    page.principal.require_category(integration.category)
    if not get_provider(integration.provider).available:
        raise NotFound(
            "This system has no live sync yet, so there is nothing to set up.",
            fix="Its credentials are saved; it starts syncing once it is ready.",
        )
    return integration


@router.get("/systems/{integration_id}/setup/data")
def choose_data(
    page: ReadPageDep, integration_id: uuid.UUID, preview: str = ""
) -> HTMLResponse:
    """Step 2: the streams, what each brings, and an optional preview."""
    integration = _setup(page, integration_id)
    runtime = page.runtime
    streams = previews.list_streams(
        runtime.db, runtime.vault, page.principal, integration_id
    )
    shown = None
    if preview:
        shown = previews.preview(
            runtime.db, runtime.vault, page.principal, integration_id, preview[:64]
        )
    return page.render(
        "sections/wizard_data.html",
        section="connect",
        integration=integration,
        info=get_provider(integration.provider),
        streams=streams,
        shown=shown,
        step=2,
    )


@router.post("/systems/{integration_id}/setup/data")
async def choose_data_submit(
    request: Request, page: ReadPageDep, integration_id: uuid.UUID
) -> Response:
    _setup(page, integration_id)
    form = await request.form()
    chosen = [str(s) for s in form.getlist("streams")]
    here = f"/app/integrations/systems/{integration_id}/setup"
    if not chosen:
        return page.redirect(f"{here}/data", "Choose at least one kind of data.")
    try:
        with page.write() as session:
            service.change(
                session,
                page.principal,
                page.runtime.vault,
                integration_id,
                service.IntegrationChange(streams=chosen),
            )
    except CopccaError as exc:
        if exc.status_code != 422:
            raise
        return page.redirect(f"{here}/data", exc.message)
    return page.redirect(f"{here}/frequency")


@router.get("/systems/{integration_id}/setup/frequency")
def frequency(page: PageDep, integration_id: uuid.UUID) -> HTMLResponse:
    """Step 3: how often."""
    integration = _setup(page, integration_id)
    return page.render(
        "sections/wizard_frequency.html",
        section="connect",
        integration=integration,
        info=get_provider(integration.provider),
        frequencies=FREQUENCIES,
        step=3,
    )


@router.post("/systems/{integration_id}/setup/frequency")
async def frequency_submit(
    request: Request, page: PageDep, integration_id: uuid.UUID
) -> Response:
    _setup(page, integration_id)
    form = await request.form()
    with page.session.begin_nested():
        service.change(
            page.session,
            page.principal,
            page.runtime.vault,
            integration_id,
            service.IntegrationChange(frequency=str(form.get("frequency") or "")),
        )
    return page.redirect(f"/app/integrations/systems/{integration_id}/setup/start")


@router.get("/systems/{integration_id}/setup/start")
def start(page: PageDep, integration_id: uuid.UUID) -> HTMLResponse:
    """Step 4: what will happen, and the button that starts it."""
    integration = _setup(page, integration_id)
    return page.render(
        "sections/wizard_start.html",
        section="connect",
        integration=integration,
        info=get_provider(integration.provider),
        step=4,
    )


@router.post("/systems/{integration_id}/setup/start")
def start_submit(page: PageDep, integration_id: uuid.UUID) -> Response:
    _setup(page, integration_id)
    req = sync_service.request_sync(
        page.session, page.principal, integration_id, trigger="first"
    )
    return page.redirect(
        f"/app/integrations/systems/{integration_id}/runs/{req.run.id}",
        "Your first sync has started.",
    )


@router.get("/systems/{integration_id}/runs/{run_id}")
def run_progress(
    page: PageDep, integration_id: uuid.UUID, run_id: uuid.UUID
) -> HTMLResponse:
    """Live progress: refreshes itself without JavaScript; a little script
    updates the numbers in place when JavaScript is on."""
    integration = service.get_integration(page.session, page.principal, integration_id)
    run = sync_service.get_run(page.session, page.principal, integration_id, run_id)
    log = page.session.get(SyncLog, run.log_id) if run.log_id else None
    return page.render(
        "sections/run_progress.html",
        section="connect",
        integration=integration,
        info=get_provider(integration.provider),
        run=run,
        log=log,
        finished=run.status in FINISHED,
        streams=((log.details or {}).get("streams", {}) if log else {}),
    )


# OAuth ---------------------------------------------------------------------------


def _plain_values(form: Any, info: Any) -> dict[str, Any]:
    return {
        f.name: str(form.get(f"cfg_{f.name}")).strip()
        for f in config_fields(info)
        if not f.secret and str(form.get(f"cfg_{f.name}") or "").strip()
    }


def _to_provider(page: Page, url: str, cookie: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oauth.COOKIE,
        cookie,
        max_age=oauth.LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=page.runtime.settings.secure_cookies,
        path=oauth.COOKIE_PATH,
    )
    return response


@router.post("/connect/{provider}/oauth")
async def oauth_start(request: Request, page: PageDep, provider: str) -> Response:
    """Send the shop owner to the provider to approve access."""
    info = get_provider(provider)
    page.principal.require_category(info.category.value)
    form = await request.form()
    url, cookie = oauth.begin(
        page.runtime.vault,
        page.principal,
        info.key,
        _plain_values(form, info),
        base_url=page.runtime.settings.base_url,
        name=str(form.get("name") or "") or None,
    )
    return _to_provider(page, url, cookie)


@router.post("/systems/{integration_id}/reconnect/oauth")
def oauth_reconnect(page: PageDep, integration_id: uuid.UUID) -> Response:
    integration = service.get_integration(page.session, page.principal, integration_id)
    url, cookie = oauth.begin(
        page.runtime.vault,
        page.principal,
        integration.provider,
        dict(integration.config),
        base_url=page.runtime.settings.base_url,
        integration_id=integration.id,
    )
    return _to_provider(page, url, cookie)


@router.get("/oauth/{provider}/callback")
def oauth_callback(request: Request, page: ReadPageDep, provider: str) -> Response:
    """The provider sends the shop owner back here with a code."""
    params = dict(request.query_params)
    found = oauth.pending(
        page.runtime.vault,
        page.principal,
        provider,
        request.cookies.get(oauth.COOKIE),
        params,
    )
    try:
        config = oauth.exchange(
            page.company, found, params, base_url=page.runtime.settings.base_url
        )
        if found.integration_id is not None:
            done = sync_service.reconnect(
                page.runtime.db,
                page.runtime.vault,
                page.principal,
                found.integration_id,
                config,
            )
            target = f"/app/integrations/systems/{done.integration.id}"
            if done.run is not None:
                target += f"/runs/{done.run.id}"
            response = page.redirect(target, "Reconnected.")
        else:
            sync_service.require_ok(
                sync_service.check_credentials(page.company, provider, config)
            )
            with page.write() as session:
                created = service.connect(
                    session,
                    page.principal,
                    page.runtime.vault,
                    service.NewIntegration(
                        provider=provider,
                        credentials=config,
                        name=found.name,
                        checked=True,
                        schedule=False,
                    ),
                )
            response = page.redirect(
                f"/app/integrations/systems/{created.id}/setup/data",
                "Connected: access approved.",
            )
    except ProviderError as exc:
        raise oauth.SignInFailed(exc.message, fix=exc.fix) from exc
    response.delete_cookie(oauth.COOKIE, path=oauth.COOKIE_PATH)
    return response
