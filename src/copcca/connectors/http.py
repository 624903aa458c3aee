"""One HTTP layer for every provider.

- Timeouts are always set.
- Responses are classified into typed errors by status (and an optional
  provider hook for payload codes, e.g. Daraja's throttling on HTTP 500).
- Retryable errors (429, 5xx, timeouts) are retried with capped exponential
  backoff and full jitter; ``Retry-After`` (seconds or an HTTP-date) wins.
  Requests that are not idempotent (POST, PATCH) are retried only when the
  provider cannot have acted on them: a 429, or a connection never made.
- A token bucket limits the request rate per connection (J8); a
  ``Retry-After`` pauses every request of that connection, not just one.
- Logs carry method, host, path and status only: no query strings, headers
  or bodies, where credentials travel.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

from copcca.connectors import redaction
from copcca.connectors.errors import (
    AuthError,
    ProviderError,
    RateLimited,
    RequestError,
    TransientError,
)

log = logging.getLogger("copcca.http")
redaction.install()  # httpx prints full URLs at INFO: no tokens or keys in them

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "COPCCA-Integrations/0.1 (+https://copcca.com)"

Classifier = Callable[[httpx.Response], ProviderError | None]


def make_client(
    base_url: str = "",
    *,
    transport: httpx.BaseTransport | None = None,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """An httpx client with timeouts set and redirects not followed."""
    return httpx.Client(
        base_url=base_url,
        transport=transport,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=timeout,
        follow_redirects=False,
        auth=auth,
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After``: ``2.0`` or an RFC 1123 date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(
    response: httpx.Response, provider: str = "the system"
) -> ProviderError | None:
    """The typed error a response means, or ``None`` for success."""
    status = response.status_code
    if status < 400 and not 300 <= status < 400:
        return None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (401, 403):
        return AuthError(
            f"{provider} refused our credentials (HTTP {status}).",
            fix=f"Reconnect {provider}: the key or token was changed or revoked.",
            status=status,
        )
    if status == 429:
        return RateLimited(
            f"{provider} asked us to slow down.",
            fix="Nothing to do: we wait and continue automatically.",
            status=status,
            retry_after=retry_after,
        )
    if status in (408, 500, 502, 503, 504) or status >= 500:
        return TransientError(
            f"{provider} had a temporary problem (HTTP {status}).",
            fix="Nothing to do: we retry automatically.",
            status=status,
            retry_after=retry_after,
        )
    return RequestError(
        f"{provider} rejected a request (HTTP {status}).",
        fix="If this keeps happening, reconnect the system or contact support.",
        status=status,
    )


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # longer waits end the run; the next run resumes
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def cap(self, attempt: int) -> float:
        """The longest wait before retry number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * 2**attempt))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return self.jitter(0, self.cap(attempt))


class RateLimiter:
    """A thread-safe token bucket: ``rate`` requests per second, ``burst`` at once."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request of this connection for ``seconds`` (Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def acquire(self) -> float:
        """Take a token, sleeping if none is free. Returns the time slept."""
        with self._lock:
            now = self._clock()
            start = max(now, self._paused_until)
            if start > self._last:
                elapsed = start - self._last
                self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
                self._last = start
            if self._tokens >= 1:
                self._tokens -= 1
                ready = start
            else:
                # Reserve the next slot so concurrent callers queue behind it.
                ready = self._last + (1 - self._tokens) / self.rate
                self._tokens = 0.0
                self._last = ready
            wait = ready - now
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0


_limiters: weakref.WeakValueDictionary[str, RateLimiter] = weakref.WeakValueDictionary()
_limiters_lock = threading.Lock()


def connection_limiter(
    key: str,
    rate: float,
    burst: int = 1,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RateLimiter:
    """The one limiter of a connection in this process (J8).

    ``key`` names the connection (``ConnectorContext.connection_key``), so a
    sync, a webhook follow-up and a preview of the same shop share one
    budget, while two shops never slow each other down.
    """
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.rate != rate or limiter.burst != burst:
            limiter = RateLimiter(rate, burst, clock=clock, sleep=sleep)
            _limiters[key] = limiter
        return limiter


class ProviderHttp:
    """Requests to one provider for one connection, with the rules above."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        provider: str,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        classifier: Classifier | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.provider = provider
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.classifier = classifier
        self.sleep = sleep
        self.attempts = 0  # total requests sent, for logs and tests
        self.waited = 0.0  # seconds spent waiting on limits and backoff

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with the retry rules above; raise a typed ``ProviderError``.

        ``idempotent`` defaults from the method; pass ``True`` for a POST the
        provider de-duplicates (e.g. one carrying an idempotency key).
        """
        safe = (
            method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        )
        last: ProviderError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            if self.limiter is not None:
                self.waited += self.limiter.acquire()
            error, response, sent = self._send(method, url, **kwargs)
            if error is None:
                assert response is not None
                return response
            last = error
            if not self._may_retry(error, sent, safe, attempt):
                break
            wait = error.retry_after
            if wait is None:
                wait = self.retry.backoff(attempt)
            if wait > self.retry.max_retry_after:
                break
            self._wait(error, wait)
        assert last is not None
        raise last

    def _may_retry(
        self, error: ProviderError, sent: bool, safe: bool, attempt: int
    ) -> bool:
        if not error.retryable or attempt >= self.retry.max_attempts:
            return False
        # A refused (429) or never-sent request did nothing at the provider.
        return safe or isinstance(error, RateLimited) or not sent

    def _wait(self, error: ProviderError, wait: float) -> None:
        if self.limiter is not None and isinstance(error, RateLimited):
            # The whole connection waits, not only this request (J8); the
            # next ``acquire`` sleeps and counts the time.
            self.limiter.pause(wait)
            return
        self.waited += wait
        self.sleep(wait)

    def _send(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[ProviderError | None, httpx.Response | None, bool]:
        """(error, response, whether the request may have reached the provider)."""
        self.attempts += 1
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            self._log_failure(method, url, exc)
            return (
                TransientError(
                    f"Could not reach {self.provider}.",
                    fix="Check the address, or wait: we retry automatically.",
                ),
                None,
                False,
            )
        except httpx.TimeoutException as exc:
            self._log_failure(method, url, exc)
            return (
                TransientError(
                    f"{self.provider} did not answer in time.",
                    fix="Nothing to do: we retry automatically.",
                ),
                None,
                not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout),
            )
        except httpx.TransportError as exc:
            self._log_failure(method, url, exc)
            return (
                TransientError(
                    f"The connection to {self.provider} broke ({type(exc).__name__}).",
                    fix="Nothing to do: we retry automatically.",
                ),
                None,
                True,
            )
        request = response.request
        log.info(
            "%s %s %s%s -> %s in %.0f ms",
            self.provider,
            method,
            request.url.host,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        error = self.classifier(response) if self.classifier else None
        if error is None:
            error = classify(response, self.provider)
        return error, None if error else response, True

    def _log_failure(self, method: str, url: str, exc: Exception) -> None:
        target = self.client.base_url.join(url) if url else self.client.base_url
        log.warning(
            "%s %s %s%s failed: %s",
            self.provider,
            method,
            target.host,
            target.path,
            type(exc).__name__,
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        try:
            return read_json(response)
        except ValueError as exc:
            raise RequestError(
                f"{self.provider} answered with something that is not JSON.",
                fix="Check the store or server address.",
                status=response.status_code,
            ) from exc


_decode = msgspec.json.Decoder().decode


def read_json(response: httpx.Response) -> Any:
    """The body as JSON, like ``response.json()`` but about twice as fast
    for the usual well-formed UTF-8 (a page of 250 orders is 700 KB).
    Whatever msgspec declines (another encoding, a number beyond 64 bits,
    ``NaN``) is left to the standard library, which decides; a body neither
    can read raises ``ValueError``."""
    try:
        return _decode(response.content)
    except msgspec.DecodeError:
        return response.json()
