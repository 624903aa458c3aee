"""Plumbing shared by the emulators' control APIs (``/_sandbox/...``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

Action = Callable[[Any, Request, dict[str, Any]], Any]


def reply(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=str), status, media_type="application/json"
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("send a JSON object")
    return value


def action(fn: Action) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint running ``fn(store, request, body)``; a bad request is a
    400 that says why."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request)
            # In a thread: actions deliver webhooks over blocking HTTP, maybe
            # to the very server this app is mounted in.
            result = await run_in_threadpool(fn, request.app.state.store, request, body)
        except (ValueError, KeyError, TypeError, StopIteration) as exc:
            return reply({"error": str(exc) or type(exc).__name__}, 400)
        return reply(result)

    return endpoint


def faults(store: Any, request: Request, body: dict[str, Any]) -> Any:
    """POST: switch faults on (names as in ``Faults``); DELETE: clear them."""
    if request.method == "DELETE":
        store.faults.clear()
    else:
        store.faults.update(body)
    return store.faults.snapshot()


def deliveries(store: Any, request: Request, body: dict[str, Any]) -> Any:
    return {"deliveries": [d.summary() for d in store.sender.recent()]}


def redeliver(store: Any, request: Request, body: dict[str, Any]) -> Any:
    """Send a stored delivery again: same bytes, signature and ids."""
    delivery = store.sender.get(request.path_params["id"])
    if delivery is None:
        raise KeyError("no such delivery")
    return {"delivery": store.sender.attempt(delivery).summary()}
