"""Typed provider errors. Classified from HTTP status and payload, never
from message text. Each carries a plain message and a fix for the sync log.

| kind          | meaning                                  | engine does                     |
|---------------|------------------------------------------|---------------------------------|
| auth          | credentials refused or revoked           | mark "needs reconnect", stop    |
| rate_limited  | provider asked us to slow down           | wait ``retry_after``, retry     |
| transient     | timeout, 5xx, connection reset           | capped backoff with jitter      |
| request       | our request is wrong (4xx)               | fail the stream, keep the rest  |
| data          | one record cannot be mapped              | skip it, count it, keep sample  |
"""

from __future__ import annotations

from typing import Any, ClassVar


class ProviderError(Exception):
    kind: ClassVar[str] = "request"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.status = status
        self.retry_after = retry_after
        self.details = details or {}


class AuthError(ProviderError):
    kind = "auth"


class RateLimited(ProviderError):
    kind = "rate_limited"
    retryable = True


class TransientError(ProviderError):
    kind = "transient"
    retryable = True


class RequestError(ProviderError):
    kind = "request"


class DataError(ProviderError):
    """One record is unusable; ``record`` names it for the log sample."""

    kind = "data"

    def __init__(
        self, message: str, *, record: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.record = record


class WebhookRejected(Exception):
    """An inbound delivery failed verification: answer 401, process nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
