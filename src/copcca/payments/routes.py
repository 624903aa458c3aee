"""M-Pesa's C2B addresses: ``/hooks/c2b/{token}/confirmation`` and
``/validation``. Safaricom refuses C2B URLs containing "mpesa" (providers.md
§1.4), and validation and confirmation share one body, so these two get
their own paths. Confirmations go into the same webhook inbox as every
other delivery (``fastpath``); validation is answered at once (M-Pesa
waits ~8 s)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from copcca.connectors.mpesa import webhooks as daraja
from copcca.errors import VaultError
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.payments.fastpath import C2BConfirmations, unavailable
from copcca.payments.mpesa import validate_c2b
from copcca.payments.rails import Reply
from copcca.runtime import Runtime
from copcca.webhooks.inbound import service
from copcca.webhooks.inbound.routes import read_limited

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """The C2B confirmation address is answered by ``fastpath`` before any
    routing (the busiest path of the hub); the rest are ordinary routes."""
    app.add_middleware(C2BConfirmations)
    app.include_router(router)


@router.post("/hooks/c2b/{token}/validation")
async def c2b_validation(token: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await read_limited(request, runtime.settings.max_webhook_bytes)
    client_ip = request.client.host if request.client else None
    try:
        reply = await run_in_threadpool(_validate, runtime, token, body, client_ip)
    except (SQLAlchemyError, VaultError) as exc:
        raise unavailable() from exc
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
