"""The Shopify OAuth install flow (for stores installing our public app).

1. Send the owner to ``https://{shop}/admin/oauth/authorize`` with our
   client id, the read scopes, the redirect URI and a ``state`` nonce.
2. Shopify redirects back with ``code``, ``hmac``, ``shop``, ``state``,
   ``timestamp`` (and ``host``). ``hmac`` is the hex HMAC-SHA256, keyed by
   our client secret, of the other parameters sorted by key and joined as
   ``k=v`` with ``&`` (``%``, ``&`` escaped; in keys also ``=``; ``key[]``
   lists signed as JSON). We check it in constant time, refuse callbacks
   older than a day, and check that ``shop`` is a real myshopify.com name.
3. Trade the code at ``POST /admin/oauth/access_token``. Expiring offline
   tokens also bring ``expires_in`` and a rotating ``refresh_token``;
   ``grant_type=refresh_token`` at the same endpoint renews them.

Source: Shopify/shopify_python_api ``shopify/session.py`` and its
``test/session_test.py`` (the vectors in our unit tests); providers.md §6.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from copcca.connectors.errors import AuthError, RequestError
from copcca.connectors.http import ProviderHttp
from copcca.connectors.shopify.client import SHOP_DOMAIN, store_root
from copcca.security.signatures import constant_time_equal, hmac_sha256_hex

SCOPES = ("read_customers", "read_products", "read_orders", "read_inventory")
MAX_CALLBACK_AGE = 24 * 3600


@dataclass(frozen=True)
class ShopifyApp:
    """Our app's credentials from the Shopify Partner dashboard."""

    client_id: str
    client_secret: str


def _escape(value: str, *, key: bool = False) -> str:
    value = value.replace("%", "%25").replace("&", "%26")
    return value.replace("=", "%3D") if key else value


def signing_message(params: Mapping[str, Any]) -> str:
    """The text Shopify signs: every pair but ``hmac``/``signature``, sorted."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if isinstance(value, list | tuple):
            name = key[:-2] if key.endswith("[]") else key
            text = json.dumps([str(v) for v in value])
            pairs.append((_escape(name, key=True), text))
        else:
            pairs.append((_escape(key, key=True), _escape(str(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def calculate_hmac(params: Mapping[str, Any], secret: str) -> str:
    return hmac_sha256_hex(secret.encode(), signing_message(params).encode())


def verify_callback(
    params: Mapping[str, Any], secret: str, *, now: float | None = None
) -> None:
    """Raise ``AuthError`` unless the redirect is Shopify's, fresh and sane."""
    given = str(params.get("hmac") or "")
    if not given or not constant_time_equal(calculate_hmac(params, secret), given):
        raise AuthError(
            "Shopify's answer could not be verified.",
            fix="Start the connection again from Connect Systems.",
        )
    try:
        stamp = int(str(params.get("timestamp")))
    except ValueError as exc:
        raise AuthError("Shopify's answer has no valid timestamp.") from exc
    if (now if now is not None else time.time()) - stamp > MAX_CALLBACK_AGE:
        raise AuthError(
            "Shopify's answer is more than a day old.",
            fix="Start the connection again from Connect Systems.",
        )
    check_shop(str(params.get("shop") or ""))


def check_shop(shop: str) -> str:
    shop = shop.strip().lower()
    if not SHOP_DOMAIN.match(shop):
        raise AuthError(
            f"'{shop[:80]}' is not a Shopify store address.",
            fix="Type the address ending in .myshopify.com.",
        )
    return shop


def authorize_url(
    config: Mapping[str, Any], app: ShopifyApp, state: str, redirect_uri: str
) -> str:
    """Where the shop owner approves our app."""
    query = urlencode(
        {
            "client_id": app.client_id,
            "scope": ",".join(SCOPES),
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{store_root(dict(config))}/admin/oauth/authorize?{query}"


def exchange_code(
    http: ProviderHttp, config: Mapping[str, Any], app: ShopifyApp, code: str
) -> dict[str, str]:
    """Trade the callback's code for tokens (the secrets we store)."""
    return _token_request(
        http,
        config,
        {"client_id": app.client_id, "client_secret": app.client_secret, "code": code},
    )


def refresh_tokens(
    http: ProviderHttp, config: Mapping[str, Any], app: ShopifyApp, refresh: str
) -> dict[str, str]:
    """New access and refresh tokens for an expiring offline token."""
    return _token_request(
        http,
        config,
        {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        },
    )


def _token_request(
    http: ProviderHttp, config: Mapping[str, Any], form: dict[str, str]
) -> dict[str, str]:
    url = f"{store_root(dict(config))}/admin/oauth/access_token"
    try:
        body = http.json("POST", url, data=form, headers={"Accept": "application/json"})
    except RequestError as exc:
        if exc.status in (400, 401, 403):
            raise AuthError(
                "Shopify refused the sign-in code or refresh token.",
                fix="Connect the store again from Connect Systems.",
                status=exc.status,
            ) from exc
        raise
    token = body.get("access_token") if isinstance(body, dict) else None
    if not token:
        raise AuthError(
            "Shopify gave no access token.",
            fix="Connect the store again from Connect Systems.",
        )
    secrets = {"access_token": str(token)}
    if body.get("refresh_token"):
        secrets["refresh_token"] = str(body["refresh_token"])
    if body.get("expires_in") is not None:
        secrets["expires_in"] = str(body["expires_in"])
    return secrets
