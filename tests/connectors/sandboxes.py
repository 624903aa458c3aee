"""Connector contexts wired to in-process sandbox emulators (no network)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from copcca.connectors.base import ConnectorContext
from copcca.sandbox.shopify.app import create_app as shopify_app
from copcca.sandbox.shopify.store import ShopifyStore
from copcca.sandbox.woocommerce.app import create_app as woo_app
from copcca.sandbox.woocommerce.store import WooStore

SHOPIFY_BASE = "http://shopify.sandbox.test"
WOO_BASE = "http://127.0.0.1:9"  # TestClient routes every host to the app


def shopify_config(store: ShopifyStore, **extra: Any) -> dict[str, Any]:
    return {
        "shop_domain": store.settings.shop_domain,
        "access_token": store.settings.access_token,
        "api_base_url": SHOPIFY_BASE,
        "webhook_secret": store.settings.client_secret,
        **extra,
    }


def woo_config(store: WooStore, **extra: Any) -> dict[str, Any]:
    return {
        "store_url": WOO_BASE,
        "consumer_key": store.settings.consumer_key,
        "consumer_secret": store.settings.consumer_secret,
        "webhook_secret": "woo-hook-secret",
        **extra,
    }


def context(http: Any, config: dict[str, Any], **extra: Any) -> ConnectorContext:
    return ConnectorContext(
        company_id=uuid.uuid4(),
        integration_id=uuid.uuid4(),
        config=config,
        http=http,
        log=logging.getLogger("test"),
        clock=lambda: datetime.now(UTC),
        **extra,
    )


def shopify_client(store: ShopifyStore) -> TestClient:
    return TestClient(shopify_app(store), base_url=SHOPIFY_BASE)


def woo_client(store: WooStore) -> TestClient:
    return TestClient(woo_app(store), base_url=WOO_BASE)


def read_all(
    stream: Any, ctx: Any, cursor: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Every raw record of one pass from ``cursor``, and the cursor after it."""
    records: list[Any] = []
    for page in stream.pages(ctx, cursor):
        records += page.records
        cursor = page.cursor
    return records, cursor


class Recorder(httpx.BaseTransport):
    """A hub stand-in that records every webhook an emulator sends."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200)
