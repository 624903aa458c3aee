"""The ASGI application: API, pages, static files, errors and headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException as FastAPIHTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copcca import __version__
from copcca.config import Settings, get_settings
from copcca.connectors.registry import all_providers
from copcca.errors import (
    CopccaError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    describe_validation_error,
)
from copcca.jobs import tasks
from copcca.jobs.queue import configure_queue
from copcca.runtime import Runtime, build_runtime, set_runtime
from copcca.sandbox.mount import demo_enabled, mount_demo_sandboxes

log = logging.getLogger("copcca")
PROVIDER_TAGS = frozenset(p.key for p in all_providers())
STATIC_DIR = Path(__file__).parent / "web" / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds CSP and friends to every response (pure ASGI: cheap on hot paths)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] == "/api/docs" else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/hooks/")) or path == "/api"


def _error_response(request: Request, exc: CopccaError) -> Response:
    if _wants_json(request):
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)
    from copcca.web.errors import error_page

    return error_page(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CopccaError)
    async def _copcca(request: Request, exc: CopccaError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            field, message = describe_validation_error(dict(err), PROVIDER_TAGS)
            problems.append({"field": field, "message": message})
        first = problems[0] if problems else {"field": "", "message": "not valid"}
        err = InvalidInput(
            f"{first['field'] or 'request'}: {first['message']}",
            fix="Correct the value and send it again.",
            problems=problems,
        )
        return _error_response(request, err)

    @app.exception_handler(FastAPIHTTPException)
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_response(
                request, NotFound("There is nothing at this address.")
            )
        if exc.status_code == 400:
            return _error_response(
                request,
                InvalidInput(
                    "The request body could not be read.",
                    fix="Send UTF-8 JSON matching the API reference at /api/docs.",
                ),
            )
        err = CopccaError(str(exc.detail))
        err.status_code = exc.status_code  # type: ignore[misc]
        err.code = "http_error"  # type: ignore[misc]
        return _error_response(request, err)

    @app.exception_handler(DBAPIError)
    async def _db(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated or _is_unavailable(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return _error_response(
                request,
                ServiceUnavailable(
                    "The database cannot be reached right now.",
                    fix="Try again in a minute.",
                ),
            )
        raise exc


def _is_unavailable(exc: DBAPIError) -> bool:
    name = type(exc.orig).__name__ if exc.orig is not None else ""
    return name in {"OperationalError", "InterfaceError"} and "locked" not in str(
        exc.orig
    )


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    embedded_worker: bool = False,
) -> FastAPI:
    """Build the app. ``embedded_worker`` runs jobs in this process too."""
    settings = settings or get_settings()
    runtime = runtime or build_runtime(settings)
    set_runtime(runtime)
    tasks.load_all()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        consumer: Any = None
        if embedded_worker:
            from copcca.jobs.consumer import start_embedded

            configure_queue(settings)
            consumer = start_embedded(settings.worker_threads)
        try:
            yield
        finally:
            if consumer is not None:
                from copcca.jobs.consumer import stop_embedded

                stop_embedded(consumer)

    app = FastAPI(
        title="COPCCA Integrations API",
        version=__version__,
        description=(
            "Connect POS, accounting, messaging, online shops and mobile money to "
            "one clean CRM. Authenticate with an API key from API & Webhooks "
            "(`Authorization: Bearer ck_...`)."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    install_error_handlers(app)

    from copcca.api.v1 import router as api_router
    from copcca.payments.routes import install as install_payment_hooks
    from copcca.web.routes import router as web_router

    install_payment_hooks(app)  # first: the busiest callback path
    app.include_router(api_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if demo_enabled(settings):  # the demo company's sandbox shop and till
        from copcca.sandbox import demo

        demo.mount(app, settings)
        mount_demo_sandboxes(app, settings)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="COPCCA Integrations API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(SecurityHeaders)
    return app


def create_web_app() -> FastAPI:
    """Factory for ``uvicorn --factory`` in multi-process web deployments."""
    return create_app(get_settings())
