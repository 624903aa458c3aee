"""``POST /hooks/{provider}/{token}`` and its GET handshake.

The body is read with a hard cap before anything else (W11: 413 before any
HMAC work), the work runs in a thread (it touches the database), and the
answer is sent only after the commit; a database that cannot be reached
gives 503 so the provider retries (W6).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from copcca.errors import PayloadTooLarge, ServiceUnavailable, VaultError
from copcca.runtime import Runtime
from copcca.webhooks.inbound import service

router = APIRouter(include_in_schema=False)
log = logging.getLogger("copcca.webhooks")


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing anything over ``limit`` bytes as early as possible."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_big(limit: int) -> PayloadTooLarge:
    """The 413 for a delivery over ``limit`` bytes (W11)."""
    return PayloadTooLarge(
        f"This delivery is larger than {limit} bytes.",
        fix="Send smaller deliveries, or contact support to raise the limit.",
    )


def _unavailable(exc: Exception) -> ServiceUnavailable:
    log.warning("webhook not stored, database unavailable: %s", type(exc).__name__)
    return ServiceUnavailable(
        "We could not store this delivery right now.",
        fix="Nothing to do: the sender retries and it will be accepted.",
    )


@router.post("/hooks/{provider}/{token}")
async def receive(provider: str, token: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    body = await read_limited(request, runtime.settings.max_webhook_bytes)
    delivery = service.Delivery(
        provider=provider,
        token=token,
        body=body,
        headers={k.lower(): v for k, v in request.headers.items()},
        client_ip=request.client.host if request.client else None,
    )
    try:
        received = await run_in_threadpool(service.receive, runtime, delivery)
    except (SQLAlchemyError, VaultError) as exc:
        raise _unavailable(exc) from exc
    ack = received.ack
    return Response(ack.body, status_code=ack.status, media_type=ack.media_type)


@router.get("/hooks/{provider}/{token}")
async def handshake(provider: str, token: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    params = dict(request.query_params)
    try:
        answer = await run_in_threadpool(
            service.handshake, runtime, provider, token, params
        )
    except (SQLAlchemyError, VaultError) as exc:
        raise _unavailable(exc) from exc
    return PlainTextResponse(answer)
