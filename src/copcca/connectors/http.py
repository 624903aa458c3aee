"""One HTTP layer for every provider.

- Timeouts are always set.
- Responses are classified into typed errors by status (and an optional
  provider hook for payload codes, e.g. Daraja's throttling on HTTP 500).
- Retryable errors (429, 5xx, timeouts) are retried with capped exponential
  backoff and full jitter; ``Retry-After`` (seconds or an HTTP-date) wins.
- A token bucket limits the request rate per connection (J8).
- Logs carry method, host, path and status only: no query strings, headers
  or bodies, where credentials travel.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from copcca.connectors.errors import (
    AuthError,
    ProviderError,
    RateLimited,
    RequestError,
    TransientError,
)

log = logging.getLogger("copcca.http")

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


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # longer waits end the run; the next run resumes

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


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
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a token, sleeping if none is free. Returns the time slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(
                self.burst, self._tokens + (now - self._last) * self.rate
            )
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            wait = (1 - self._tokens) / self.rate
            self._tokens = 0.0
            self._last = now + wait
        self._sleep(wait)
        return wait


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

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        last: ProviderError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            if self.limiter is not None:
                self.waited += self.limiter.acquire()
            error, response = self._send(method, url, **kwargs)
            if error is None:
                assert response is not None
                return response
            last = error
            if not error.retryable or attempt == self.retry.max_attempts:
                break
            wait = error.retry_after
            if wait is None:
                wait = self.retry.backoff(attempt)
            if wait > self.retry.max_retry_after:
                break
            self.waited += wait
            self.sleep(wait)
        assert last is not None
        raise last

    def _send(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[ProviderError | None, httpx.Response | None]:
        self.attempts += 1
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            return TransientError(
                f"{self.provider} did not answer in time.",
                fix="Nothing to do: we retry automatically.",
            ), None
        except httpx.TransportError as exc:
            return TransientError(
                f"Could not reach {self.provider} ({type(exc).__name__}).",
                fix="Check the address, or wait: we retry automatically.",
            ), None
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
        return error, None if error else response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise RequestError(
                f"{self.provider} answered with something that is not JSON.",
                fix="Check the store or server address.",
                status=response.status_code,
            ) from exc
