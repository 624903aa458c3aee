"""M-Pesa's C2B addresses: ``/hooks/c2b/{token}/confirmation`` and
``/validation``. Safaricom refuses C2B URLs containing "mpesa" (providers.md
§1.4), and validation and confirmation share one body, so these two get
their own paths. Confirmations go into the same webhook inbox as every
other delivery; validation is answered at once (M-Pesa waits ~8 s)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from copcca.connectors.errors import DataError
from copcca.connectors.mpesa import webhooks as daraja
from copcca.errors import ServiceUnavailable, VaultError
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.payments.batching import batcher_for, rows_for
from copcca.payments.mpesa import validate_c2b
from copcca.payments.rails import Reply
from copcca.runtime import Runtime
from copcca.webhooks.inbound import service
from copcca.webhooks.inbound.routes import read_limited

router = APIRouter(include_in_schema=False)


def _unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        "We could not store this payment notice right now.",
        fix="Nothing to do: M-Pesa sends it again.",
    )


async def c2b_confirmation(request: Request) -> Response:
    """``POST /hooks/c2b/{token}/confirmation``, stored through the
    group-committing batcher (``payments.batching``) and answered "Success"
    only once the commit holding it is done. A plain Starlette route placed
    first (see :func:`install`): it is the busiest path of the hub."""
    token = str(request.path_params["token"])
    runtime: Runtime = request.app.state.runtime
    body = await read_limited(request, runtime.settings.max_webhook_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers[daraja.KIND_HEADER] = daraja.C2B_CONFIRM
    client_ip = request.client.host if request.client else None
    batcher = batcher_for(runtime)
    target = batcher.cached("mpesa", token)
    if target is None:
        try:
            target = await run_in_threadpool(batcher.target, "mpesa", token)
        except (SQLAlchemyError, VaultError) as exc:
            raise _unavailable(exc) from exc
    delivery = service.Delivery("mpesa", token, body, headers, client_ip)
    # Cheap (Daraja signs nothing; the allowlist is a few networks); only a
    # refusal writes, at most once a minute (``webhooks.inbound.refusals``).
    service.check_delivery(runtime, target, delivery)
    try:
        events, rows = rows_for(target, delivery)
    except (DataError, ValueError):
        # Unreadable: the ordinary path keeps it as a failed inbox row.
        return await _store_one(runtime, delivery)
    try:
        await batcher.store(target, rows)
    except (SQLAlchemyError, VaultError) as exc:
        raise _unavailable(exc) from exc
    ack = target.receiver.webhook_ack(events)
    return Response(ack.body, status_code=ack.status, media_type=ack.media_type)


async def _store_one(runtime: Runtime, delivery: service.Delivery) -> Response:
    try:
        received = await run_in_threadpool(service.receive, runtime, delivery)
    except (SQLAlchemyError, VaultError) as exc:
        raise _unavailable(exc) from exc
    ack = received.ack
    return Response(ack.body, status_code=ack.status, media_type=ack.media_type)


def install(app: FastAPI) -> None:
    """Put the C2B confirmation route first (no dependency solving, no scan
    of the other routes), then the rest of this module's routes."""
    app.router.routes.insert(
        0, Route("/hooks/c2b/{token}/confirmation", c2b_confirmation, methods=["POST"])
    )
    app.include_router(router)


@router.post("/hooks/c2b/{token}/validation")
async def c2b_validation(token: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await read_limited(request, runtime.settings.max_webhook_bytes)
    client_ip = request.client.host if request.client else None
    try:
        reply = await run_in_threadpool(_validate, runtime, token, body, client_ip)
    except (SQLAlchemyError, VaultError) as exc:
        raise _unavailable(exc) from exc
    return JSONResponse(reply.body, status_code=reply.status)


def _validate(
    runtime: Runtime, token: str, body: bytes, client_ip: str | None
) -> Reply:
    target = service.find_target(runtime, "mpesa", token)
    service.check_delivery(
        runtime, target, service.Delivery("mpesa", token, body, {}, client_ip)
    )
    with runtime.db.transaction(target.company_id) as session:
        company = session.get(Company, target.company_id)
        integration = session.get(Integration, target.integration_id)
        if company is None or integration is None:
            return daraja.REJECT_OTHER
        return validate_c2b(session, company, integration, body)
