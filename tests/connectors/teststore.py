"""A small connector for the test store: the shape every real connector
follows (a client over ``ProviderHttp``, streams with keyset cursors, pure
mapping, webhooks signed with HMAC-SHA256 over the raw body, OAuth)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import Field, SecretStr

from copcca.connectors import registry
from copcca.connectors.base import (
    CheckResult,
    ConnectionRevoked,
    Connector,
    ConnectorContext,
    InboundEvent,
    OAuthFlow,
    Page,
    Stream,
    StreamInfo,
    WebhookReceiver,
)
from copcca.connectors.catalogue import ProviderConfig
from copcca.connectors.errors import DataError, ProviderError, WebhookRejected
from copcca.connectors.http import ProviderHttp, RetryPolicy, connection_limiter
from copcca.crm.records import CustomerRecord, ProductRecord
from copcca.security.signatures import constant_time_equal, hmac_sha256_b64

KEY = "teststore"
NAME = "Test Store"
PING_BODY = re.compile(rb"webhook_id=\d+")


class TestStoreConfig(ProviderConfig):
    base_url: str = Field(title="Store address", max_length=200)
    api_key: SecretStr = Field(title="API key")
    webhook_secret: SecretStr | None = Field(default=None, title="Webhook secret")


def client(ctx: ConnectorContext) -> ProviderHttp:
    return ProviderHttp(
        ctx.http,
        provider=NAME,
        limiter=connection_limiter(ctx.connection_key, rate=200.0, burst=20),
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
    )


def _headers(ctx: ConnectorContext) -> dict[str, str]:
    return {"X-Api-Key": str(ctx.config.get("api_key", ""))}


def _stamp(raw: dict[str, Any]) -> datetime | None:
    value = raw.get("updated_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def map_customer(raw: dict[str, Any]) -> CustomerRecord:
    if not raw.get("name"):
        raise DataError(
            "This customer has no name.",
            record=f"Customer {raw.get('id')}",
            fix="Give the customer a name in the store; it comes in next sync.",
        )
    return CustomerRecord(
        external_id=str(raw["id"]),
        name=str(raw["name"]),
        phone=raw.get("phone"),
        email=raw.get("email"),
        updated_at=_stamp(raw),
    )


def map_product(raw: dict[str, Any]) -> ProductRecord:
    try:
        price = int(Decimal(str(raw.get("price", "0"))) * 100)
    except InvalidOperation as exc:
        raise DataError(
            f"The price '{raw.get('price')}' is not a number.",
            record=f"Product {raw.get('id')}",
        ) from exc
    return ProductRecord(
        external_id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        sku=raw.get("sku"),
        price_minor=price,
        stock_qty=raw.get("stock"),
        updated_at=_stamp(raw),
    )


class StoreStream(Stream):
    path: ClassVar[str]

    def __init__(self, http: ProviderHttp, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    def pages(self, ctx: ConnectorContext, cursor: dict[str, Any]) -> Iterator[Page]:
        since, after = cursor.get("since", ""), int(cursor.get("after", 0))
        while True:
            data = self.http.json(
                "GET",
                f"{self.base_url}/api/{self.path}",
                params={"since": since, "after": after},
                headers=_headers(ctx),
            )
            items = list(data["items"])
            if items:
                since, after = items[-1]["updated_at"], int(items[-1]["id"])
            more = bool(data["has_more"])
            yield Page(items, {"since": since, "after": after}, done=not more)
            if not more:
                return


class CustomersStream(StoreStream):
    info = StreamInfo("customers", "customers", "People who bought from the store.")
    path = "customers"

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [map_customer(raw)]


class ProductsStream(StoreStream):
    info = StreamInfo("products", "products", "Items for sale, with price and stock.")
    path = "products"

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [map_product(raw)]


class TestStoreConnector(Connector, WebhookReceiver, OAuthFlow):
    __test__ = False
    key = KEY
    known_event_types = frozenset(
        {"customer.updated", "product.updated", "app.uninstalled"}
    )

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client(ctx).get(f"{ctx.config['base_url']}/api/ping", headers=_headers(ctx))
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "Connected to the Test Store.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        http = client(ctx)
        base = str(ctx.config["base_url"])
        return [CustomersStream(http, base), ProductsStream(http, base)]

    # webhooks -----------------------------------------------------------------
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        if PING_BODY.fullmatch(body) and "x-test-signature" not in headers:
            return  # the unsigned creation ping, exactly that form
        given = headers.get("x-test-signature")
        if not given:
            raise WebhookRejected("missing signature header")
        secret = str(config.get("webhook_secret") or "").encode()
        if not secret or not constant_time_equal(hmac_sha256_b64(secret, body), given):
            raise WebhookRejected("signature mismatch")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        if PING_BODY.fullmatch(body):
            return []
        data = json.loads(body)
        return [
            InboundEvent(
                event_id=headers.get("x-test-delivery") or f"{data['id']}",
                type=headers.get("x-test-topic", "unknown"),
                payload=data,
                external_id=str(data.get("id")),
            )
        ]

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        if event.type == "customer.updated":
            return [map_customer(event.payload)]
        if event.type == "product.updated":
            return [map_product(event.payload)]
        if event.type == "app.uninstalled":
            return [ConnectionRevoked("The Test Store app was removed from the shop.")]
        return []

    def webhook_handshake(
        self, config: Mapping[str, Any], params: Mapping[str, str]
    ) -> str:
        expected = str(config.get("webhook_secret") or "")
        given = params.get("hub.verify_token", "")
        if expected and constant_time_equal(expected, given):
            return params.get("hub.challenge", "")
        raise WebhookRejected("verify token mismatch")

    # OAuth --------------------------------------------------------------------
    def authorize_url(
        self, config: Mapping[str, Any], state: str, redirect_uri: str
    ) -> str:
        query = urlencode(
            {"client_id": "copcca", "state": state, "redirect_uri": redirect_uri}
        )
        return f"{str(config['base_url']).rstrip('/')}/oauth/authorize?{query}"

    def exchange(
        self, ctx: ConnectorContext, params: Mapping[str, str], redirect_uri: str
    ) -> dict[str, str]:
        response = client(ctx).post(
            f"{str(ctx.config['base_url']).rstrip('/')}/oauth/token",
            data={"code": params.get("code", ""), "redirect_uri": redirect_uri},
        )
        return {"api_key": str(response.json()["access_token"])}


INFO = registry.ProviderInfo(
    KEY,
    NAME,
    registry.Category.ECOMMERCE,
    "A local test shop for the sync engine's tests.",
    "api_key",
    TestStoreConfig,
    ("customers", "products"),
    ("sync", "webhooks", "oauth"),
    connector=TestStoreConnector,
)


def sign(body: bytes, secret: str) -> str:
    return hmac_sha256_b64(secret.encode(), body)
