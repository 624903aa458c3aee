"""Error pages: what went wrong in plain words, and what to do."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from copcca.errors import CopccaError
from copcca.web.deps import LoginRequired, request_locale
from copcca.web.templating import render


def error_page(request: Request, exc: CopccaError) -> Response:
    if isinstance(exc, LoginRequired) or exc.status_code == 401:
        reason = getattr(exc, "reason", "missing")
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        url = f"/login?next={quote(target)}"
        if reason == "expired":
            url += "&expired=1"
        return RedirectResponse(url, status_code=303)
    return render(
        request,
        "error.html",
        {"error": exc},
        locale=request_locale(request),
        status_code=exc.status_code,
    )
