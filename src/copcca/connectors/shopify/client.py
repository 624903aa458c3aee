"""The Shopify Admin REST client for one store.

- Auth: ``X-Shopify-Access-Token`` (a custom app's Admin API token, or one
  from the OAuth install). An expiring offline token is refreshed once on a
  401 when a refresh token is stored; the new pair is saved before use (S5).
- Paging: the ``Link`` header's ``rel="next"`` URL carries ``page_info``;
  a ``page_info`` request may only add ``limit`` and ``fields``, so every
  other filter goes on the first request only.
- Limits: 429 + ``Retry-After: 2.0`` is retried by ``ProviderHttp``; the
  ``X-Shopify-Shop-Api-Call-Limit`` bucket (e.g. ``39/40``) makes us pause
  before Shopify has to refuse us.

Protocol notes: /work/shared/providers.md §6 (Shopify/shopify_python_api
``shopify/collection.py``, ``shopify/limits.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from copcca.connectors.errors import AuthError, ProviderError, RequestError
from copcca.connectors.http import ProviderHttp, read_json

API_VERSION = "2025-07"
PAGE_LIMIT = 250
LEAK_PER_SECOND = 2.0  # the standard plan's bucket drains 2 calls a second
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9\-]*\.myshopify\.com$")
_LINK = re.compile(r'<([^>]+)>;\s*rel="?([a-z]+)"?')


def store_root(config: dict[str, Any]) -> str:
    """``https://shop.myshopify.com``, or the sandbox address when configured."""
    base = str(config.get("api_base_url") or "").rstrip("/")
    if base:
        return base
    shop = str(config.get("shop_domain") or "").strip().lower()
    return f"https://{shop}"


def next_page_info(link_header: str | None) -> str | None:
    """The ``page_info`` of the ``rel="next"`` link, if there is one."""
    for url, rel in _LINK.findall(link_header or ""):
        if rel == "next":
            values = parse_qs(urlsplit(url).query).get("page_info")
            return values[0] if values else None
    return None


def classify(response: httpx.Response) -> ProviderError | None:
    """Shopify statuses the shared classifier would name too vaguely."""
    status = response.status_code
    if status == 402:
        return RequestError(
            "Shopify has frozen this store (an unpaid Shopify bill).",
            fix="Settle the bill in Shopify admin, then press Sync now.",
            status=status,
        )
    if status == 423:
        return RequestError(
            "Shopify has locked this store.",
            fix="Contact Shopify support to unlock it, then press Sync now.",
            status=status,
        )
    if status == 404 and response.request.url.path.endswith("/shop.json"):
        return AuthError(
            "There is no Shopify store at this address.",
            fix="Check the shop address (your-shop.myshopify.com) and reconnect.",
            status=status,
        )
    if status == 403:
        return AuthError(
            "The Shopify app is missing a permission we need.",
            fix="Give the app the read_customers, read_products and read_orders "
            "scopes, then reconnect.",
            status=status,
        )
    return None


@dataclass
class ListPage:
    items: list[dict[str, Any]]
    next_page_info: str | None


class ShopifyClient:
    """Requests to one store's Admin API."""

    def __init__(
        self,
        http: ProviderHttp,
        config: dict[str, Any],
        *,
        refresh: Callable[[str], None] | None = None,
    ) -> None:
        self.http = http
        self.config = config  # the context's dict: a refresh updates it in place
        self.root = store_root(config)
        self.api = f"{self.root}/admin/api/{API_VERSION}"
        self._refresh = refresh
        self._refreshed = False

    # requests ---------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._get(path, params)
        except AuthError as exc:
            if not self._try_refresh(exc):
                raise
            response = self._get(path, params)
        self._respect_bucket(response)
        return response

    def _get(self, path: str, params: dict[str, Any] | None) -> httpx.Response:
        token = str(self.config.get("access_token") or "")
        return self.http.get(
            f"{self.api}/{path}",
            params=params,
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
        )

    def _try_refresh(self, exc: AuthError) -> bool:
        """Renew an expiring token once, on a 401, when we hold a refresh token."""
        if exc.status != 401 or self._refreshed or self._refresh is None:
            return False
        if not self.config.get("refresh_token"):
            return False
        self._refreshed = True
        self._refresh(str(self.config.get("access_token") or ""))
        return True

    def _respect_bucket(self, response: httpx.Response) -> None:
        """Pause when the call bucket is nearly full, before a 429."""
        used, _, size = response.headers.get(
            "x-shopify-shop-api-call-limit", ""
        ).partition("/")
        if used.isdigit() and size.isdigit() and int(size) - int(used) <= 2:
            wait = 1.0 / LEAK_PER_SECOND
            if self.http.limiter is not None:
                self.http.limiter.pause(wait)  # the whole connection waits (J8)
            else:
                self.http.waited += wait
                self.http.sleep(wait)

    def json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.get(path, params)
        try:
            body = read_json(response)
        except ValueError as exc:
            raise RequestError(
                "Shopify answered with something that is not JSON.",
                fix="Check the shop address.",
                status=response.status_code,
            ) from exc
        if not isinstance(body, dict):
            raise RequestError("Shopify answered with an unexpected shape.")
        return body

    # resources --------------------------------------------------------------
    def shop(self) -> dict[str, Any]:
        shop = self.json("shop.json").get("shop")
        return shop if isinstance(shop, dict) else {}

    def list_page(
        self,
        resource: str,
        *,
        page_info: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = PAGE_LIMIT,
    ) -> ListPage:
        """One page of ``resource`` (orders, customers, products)."""
        params: dict[str, Any] = {"limit": limit}
        if page_info:
            params["page_info"] = page_info  # filters are inside the cursor
        else:
            params.update(filters or {})
        response = self.get(f"{resource}.json", params)
        try:
            items = read_json(response).get(resource)
        except (ValueError, AttributeError) as exc:
            raise RequestError(
                f"Shopify's {resource} page was not readable JSON.",
                fix="Try again later; if it keeps happening, contact support.",
            ) from exc
        if not isinstance(items, list):
            raise RequestError(f"Shopify's {resource} page had no {resource} list.")
        return ListPage(
            [i for i in items if isinstance(i, dict)],
            next_page_info(response.headers.get("link")),
        )

    # webhook subscriptions --------------------------------------------------
    def webhooks(self) -> list[dict[str, Any]]:
        hooks = self.json("webhooks.json", {"limit": 250}).get("webhooks")
        return (
            [h for h in hooks if isinstance(h, dict)] if isinstance(hooks, list) else []
        )

    def create_webhook(self, topic: str, address: str) -> None:
        token = str(self.config.get("access_token") or "")
        self.http.post(
            f"{self.api}/webhooks.json",
            json={"webhook": {"topic": topic, "address": address, "format": "json"}},
            headers={"X-Shopify-Access-Token": token},
        )
