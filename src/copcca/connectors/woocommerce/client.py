"""The WooCommerce REST API v3 client for one shop.

- Auth: the REST API key pair. HTTP Basic ``ck_…:cs_…`` over HTTPS; when
  the host drops the ``Authorization`` header (WooCommerce then answers 401
  ``woocommerce_rest_cannot_view`` to a correct key), the same pair goes in
  the query string instead, as WooCommerce documents. Plain HTTP would need
  OAuth 1.0a signing, so we refuse it except on this machine (the sandbox).
- Paging: ``page``/``per_page`` (≤ 100) with ``X-WP-Total`` and
  ``X-WP-TotalPages``; a page past the end is a 400
  ``woocommerce_rest_invalid_page_number``, which we read as "no more".
- No rate limit is built into WooCommerce; hosts that add one answer 429,
  which ``ProviderHttp`` waits out.

Protocol notes: /work/shared/providers.md §7 (woocommerce/woocommerce
``class-wc-rest-authentication.php`` and the v3 CRUD controllers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from copcca.connectors.base import ConnectorContext
from copcca.connectors.errors import AuthError, ProviderError, RequestError
from copcca.connectors.http import (
    ProviderHttp,
    RetryPolicy,
    classify,
    connection_limiter,
    read_json,
)

API = "/wp-json/wc/v3"
PER_PAGE = 100
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PAGE_PAST_END = "woocommerce_rest_invalid_page_number"
# WooCommerce has no limit of its own, but shared hosting does not like
# bursts; a 429 from the host pauses the whole connection.
RATE, BURST = 10.0, 10
RETRY = RetryPolicy()


class _NoQueryStrings(logging.Filter):
    """httpx logs each request URL at INFO; with keys in the query string
    that would write the secret to the log. Drop the query from those lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "consumer_secret" in str(record.msg) or any(
            "consumer_secret" in str(a) for a in (record.args or ())
        ):
            record.msg, record.args = "HTTP request to WooCommerce (query hidden)", ()
        return True


logging.getLogger("httpx").addFilter(_NoQueryStrings())


def error_code(response: httpx.Response) -> str | None:
    try:
        body = read_json(response)
    except ValueError:
        return None
    return (
        str(body.get("code")) if isinstance(body, dict) and body.get("code") else None
    )


def classify_woo(response: httpx.Response) -> ProviderError | None:
    """WooCommerce's error codes, where the status alone says too little."""
    if response.status_code < 400:
        return None
    code = error_code(response)
    error = classify(response, "WooCommerce")
    if error is not None:
        error.details["code"] = code
        if code == "woocommerce_rest_authentication_error":
            error.message = "WooCommerce did not accept the consumer key or secret."
            error.fix = (
                "Create a new REST API key (Read) in WooCommerce → Settings → "
                "Advanced → REST API and reconnect."
            )
        if response.status_code == 404 and code == "rest_no_route":
            error = RequestError(
                "This address has no WooCommerce REST API.",
                fix="Check the store address, and that WooCommerce is active and "
                "permalinks are not set to 'Plain'.",
                status=404,
                details={"code": code},
            )
    return error


@dataclass
class ListPage:
    items: list[dict[str, Any]]
    total_pages: int
    server_time: datetime | None
    past_end: bool = False


class WooClient:
    def __init__(self, http: ProviderHttp, config: dict[str, Any]) -> None:
        self.http = http
        self.root = str(config.get("store_url") or "").rstrip("/")
        self.key = str(config.get("consumer_key") or "")
        self.secret = str(config.get("consumer_secret") or "")
        self.query_auth = False

    @classmethod
    def from_context(cls, ctx: ConnectorContext) -> WooClient:
        http = ProviderHttp(
            ctx.http,
            provider="WooCommerce",
            classifier=classify_woo,
            limiter=connection_limiter(ctx.connection_key, RATE, BURST),
            retry=RETRY,
        )
        return cls(http, ctx.config)

    def _check_address(self) -> None:
        parts = urlsplit(self.root)
        if parts.scheme == "https" or (
            parts.scheme == "http" and parts.hostname in LOOPBACK
        ):
            return
        raise RequestError(
            "The store address must start with https://.",
            fix="WooCommerce sends the keys only over a secure connection; use "
            "your store's https:// address.",
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        self._check_address()
        url = f"{self.root}{API}/{path}"
        if not self.query_auth:
            try:
                return self.http.get(url, params=params, auth=(self.key, self.secret))
            except AuthError as exc:
                if exc.details.get("code") != "woocommerce_rest_cannot_view":
                    raise
                self.query_auth = True  # the host dropped our Authorization header
        query = {
            **(params or {}),
            "consumer_key": self.key,
            "consumer_secret": self.secret,
        }
        return self.http.get(url, params=query)

    def json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.get(path, params)
        try:
            return read_json(response)
        except ValueError as exc:
            raise RequestError(
                "WooCommerce answered with something that is not JSON.",
                fix="Check the store address; a security plugin may be blocking "
                "the REST API.",
            ) from exc

    def list_page(self, resource: str, params: dict[str, Any]) -> ListPage:
        try:
            response = self.get(resource, {"per_page": PER_PAGE, **params})
        except RequestError as exc:
            if exc.details.get("code") == PAGE_PAST_END:
                return ListPage([], 0, None, past_end=True)
            raise
        try:
            items = read_json(response)
        except ValueError as exc:
            raise RequestError(f"WooCommerce's {resource} page was not JSON.") from exc
        if not isinstance(items, list):
            raise RequestError(f"WooCommerce's {resource} page was not a list.")
        try:
            pages = int(response.headers.get("x-wp-totalpages", "0"))
        except ValueError:
            pages = 0
        return ListPage(
            [i for i in items if isinstance(i, dict)], pages, _server_time(response)
        )

    def currency(self) -> str | None:
        """The shop's currency, when the key may read settings."""
        try:
            body = self.json("settings/general/woocommerce_currency")
        except (AuthError, RequestError):
            return None
        value = body.get("value") if isinstance(body, dict) else None
        return str(value) if value else None

    def webhooks(self) -> list[dict[str, Any]]:
        body = self.json("webhooks", {"per_page": 100})
        return (
            [h for h in body if isinstance(h, dict)] if isinstance(body, list) else []
        )

    def create_webhook(self, topic: str, address: str, secret: str) -> None:
        """Needs a Read/Write key; WooCommerce pings ``address`` at once."""
        self._check_address()
        body = {
            "name": f"COPCCA {topic}",
            "topic": topic,
            "delivery_url": address,
            "secret": secret,
        }
        url = f"{self.root}{API}/webhooks"
        if self.query_auth:
            query = {"consumer_key": self.key, "consumer_secret": self.secret}
            self.http.post(url, json=body, params=query)
        else:
            self.http.post(url, json=body, auth=(self.key, self.secret))

    def refunds(self, order_id: str) -> list[dict[str, Any]]:
        body = self.json(f"orders/{order_id}/refunds")
        return (
            [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []
        )


def _server_time(response: httpx.Response) -> datetime | None:
    try:
        when = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
