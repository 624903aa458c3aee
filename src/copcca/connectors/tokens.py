"""Bearer tokens for the payment rails (Daraja, Airtel, Tigo, PayPal): one
process-wide cache and one way to fetch, check and keep a token, so each
client only says how its provider is asked and what to tell the owner."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from copcca.connectors.errors import AuthError, RequestError

TOKEN_MARGIN = 60.0  # seconds before expiry at which we fetch a new token


class TokenCache:
    """Tokens per (provider, host, app), shared by the threads of one process."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            found = self._tokens.get(key)
        if found and found[1] > time.monotonic():
            return found[0]
        return None

    def put(self, key: str, token: str, ttl: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(0.0, ttl))

    def drop(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


TOKENS = TokenCache()


def cache_key(*parts: str) -> str:
    """A key that names the app without keeping its secret in memory as text."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def json_object(
    response: httpx.Response,
    provider: str,
    *,
    fix: str | None = None,
    parse_float: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """The body as a JSON object, or a ``RequestError`` naming the provider."""
    try:
        body = response.json(parse_float=parse_float)
    except ValueError as exc:
        raise RequestError(
            f"{provider} answered with something that is not JSON.",
            fix=fix,
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise RequestError(f"{provider} answered with an unexpected shape.")
    return body


def cached_token(
    key: str,
    request: Callable[[], httpx.Response],
    *,
    provider: str,
    refused: str,
    fix: str,
    default_ttl: float,
    force: bool = False,
    missing_fix: str | None = None,
) -> str:
    """The cached token for ``key``, or a new one from ``request``, kept until
    shortly before its ``expires_in`` (a number or a string). A refused
    request is an ``AuthError`` that says ``refused`` and how to fix it."""
    cached = None if force else TOKENS.get(key)
    if cached:
        return cached
    try:
        response = request()
    except RequestError as exc:
        raise AuthError(refused, fix=fix, status=exc.status) from exc
    body = json_object(response, provider)
    token = str(body.get("access_token") or "")
    if not token:
        raise AuthError(f"{provider} did not give us an access token.", fix=missing_fix)
    try:
        ttl = float(str(body.get("expires_in") or default_ttl).strip())
    except ValueError:
        ttl = default_ttl
    TOKENS.put(key, token, ttl - min(TOKEN_MARGIN, ttl / 2))
    return token
