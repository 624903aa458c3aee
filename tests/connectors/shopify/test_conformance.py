"""The shared conformance suite on the Shopify connector and its sandbox
store, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from copcca.connectors.shopify import webhooks
from copcca.sandbox.server import serving
from copcca.sandbox.shopify import seed
from copcca.sandbox.shopify.app import create_app
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from tests.connectors.conformance import (
    ConformanceTarget,
    ConnectorConformance,
    WebhookConformance,
    WebhookTarget,
)

SECRET = "shopify-app-secret-for-conformance"


@pytest.fixture
def shopify_store() -> Iterator[tuple[ShopifyStore, str]]:
    # 300 orders: two pages of 250, so a cursor can be resumed mid-stream.
    store = ShopifyStore(
        StoreSettings(
            orders=300, customers=30, client_secret=SECRET, retry_after="0.01"
        )
    )
    with serving(create_app(store)) as url:
        yield store, url


def credentials(
    store: ShopifyStore, url: str, token: str | None = None
) -> dict[str, Any]:
    return {
        "shop_domain": store.settings.shop_domain,
        "access_token": token or store.settings.access_token,
        "api_base_url": url,
        "webhook_secret": SECRET,
    }


class TestShopifyConformance(ConnectorConformance):
    @pytest.fixture
    def conformance(self, shopify_store: tuple[ShopifyStore, str]) -> ConformanceTarget:
        store, url = shopify_store
        return ConformanceTarget(
            provider="shopify",
            credentials=credentials(store, url),
            bad_credentials=credentials(store, url, token="shpat_revoked"),
            throttle=lambda n: store.faults.update({"throttle_next": n}),
            fail=lambda n: store.faults.update({"fail_next": n, "fail_status": 502}),
            change=lambda: store.refund(seed.ORDER_BASE + 7),
            paged_stream="orders",
        )


class TestShopifyWebhookConformance(WebhookConformance):
    @pytest.fixture
    def webhook_target(self, shopify_store: tuple[ShopifyStore, str]) -> WebhookTarget:
        store, url = shopify_store
        order = store.orders.get(seed.ORDER_BASE + 1)
        body = json.dumps(order, separators=(",", ":")).encode()

        def signed(raw: bytes, secret: str) -> dict[str, str]:
            return {
                "content-type": "application/json",
                "x-shopify-topic": "orders/create",
                "x-shopify-shop-domain": store.settings.shop_domain,
                "x-shopify-api-version": "2025-07",
                "x-shopify-webhook-id": "conformance-delivery-1",
                "x-shopify-hmac-sha256": webhooks.sign(secret, raw),
            }

        return WebhookTarget(
            provider="shopify",
            credentials=credentials(store, url),
            body=body,
            sign=signed,
            secret=SECRET,
            signature_header="x-shopify-hmac-sha256",
        )
