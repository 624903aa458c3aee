"""Refuse an oversized upload from its Content-Length, before any of its
body is read (promise F1): a 2 GB file is turned away at once."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from copcca.imports.limits import Limits

MULTIPART_SLACK = 64 * 1024


class UploadLimitRoute(APIRoute):
    """Refuses a body larger than the import limit before reading it (F1)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method == "POST":
                limits = Limits.from_settings(request.app.state.settings)
                declared = request.headers.get("content-length", "")
                if (
                    declared.isdigit()
                    and int(declared) > limits.max_bytes + MULTIPART_SLACK
                ):
                    raise too_big(limits)
            return await handler(request)

        return limited


def too_big(limits: Limits) -> Any:
    from copcca.imports.service import too_big as error

    return error(limits)
