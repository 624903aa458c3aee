"""``POST /hooks/c2b/{token}/confirmation``: the busiest path of the hub,
answered at the ASGI level.

Every M-Pesa payment to a paybill or till arrives here, thousands a minute
for a busy shop. The work that matters is small (verify the source, read
the body, store it in the inbox through the group-committing batcher,
answer "Success" after the commit), so the layers meant for pages and the
API (routing, request objects, dependency solving, exception middleware)
were most of its cost. This middleware sits inside the app's outer layers
(server errors, security headers) and takes only this one path; anything
else goes on untouched. Errors answer the same JSON as the app's handlers.

The guarantees are those of the inbox (``payments.batching``): nothing is
answered before the commit holding it (W6), a retried delivery is stored
once (W7), a body that cannot be read is kept and logged by the ordinary
path, and a database that cannot be reached answers 503 so Daraja retries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copcca.connectors.base import WebhookAck
from copcca.connectors.errors import DataError
from copcca.connectors.mpesa import webhooks as daraja
from copcca.errors import CopccaError, ServiceUnavailable, VaultError
from copcca.payments.batching import batcher_for, rows_for
from copcca.runtime import Runtime
from copcca.webhooks.inbound import service
from copcca.webhooks.inbound.routes import too_big

PATH = re.compile(r"/hooks/c2b/([^/]{1,64})/confirmation")


class C2BConfirmations:
    """Pure ASGI middleware for the C2B confirmation address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = PATH.fullmatch(scope["path"])
            if found is not None:
                await _handle(scope, receive, send, found.group(1))
                return
        await self.app(scope, receive, send)


async def _handle(scope: Scope, receive: Receive, send: Send, token: str) -> None:
    runtime: Runtime = scope["app"].state.runtime
    try:
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
        body = await _read(receive, headers, runtime.settings.max_webhook_bytes)
        client = scope.get("client")
        ack = await confirm(
            runtime, token, body, headers, client[0] if client else None
        )
    except CopccaError as exc:
        await _answer(send, exc.status_code, json.dumps(exc.to_dict()).encode())
        return
    await _answer(send, ack.status, ack.body, ack.media_type)


async def confirm(
    runtime: Runtime,
    token: str,
    body: bytes,
    headers: dict[str, str],
    client_ip: str | None,
) -> WebhookAck:
    """Check, store and acknowledge one confirmation (after its commit)."""
    headers[daraja.KIND_HEADER] = daraja.C2B_CONFIRM
    batcher = batcher_for(runtime)
    target = batcher.cached("mpesa", token)
    try:
        if target is None:
            target = await run_in_threadpool(batcher.target, "mpesa", token)
        delivery = service.Delivery("mpesa", token, body, headers, client_ip)
        # Cheap (Daraja signs nothing; the allowlist is a few networks); a
        # refusal writes its log line at most once a minute.
        service.check_delivery(runtime, target, delivery)
        try:
            events, rows = rows_for(target, delivery)
        except (DataError, ValueError):
            # Unreadable: the ordinary path keeps it as a failed inbox row
            # and writes its Sync Logs line.
            received = await run_in_threadpool(service.receive, runtime, delivery)
            return received.ack
        await batcher.store(target, rows)
    except (SQLAlchemyError, VaultError) as exc:
        raise unavailable() from exc
    return target.receiver.webhook_ack(events)


def unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "We could not store this payment notice right now.",
        fix="Nothing to do: M-Pesa sends it again.",
    )


async def _read(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    """The raw body, refused (413) as soon as it passes ``limit`` (W11)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise CopccaError("The request ended before its body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_big(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, body: bytes, media_type: str = "application/json"
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
