"""The shared conformance suite on the WooCommerce connector and its
sandbox shop, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from copcca.connectors.woocommerce import webhooks
from copcca.sandbox.server import serving
from copcca.sandbox.woocommerce import seed
from copcca.sandbox.woocommerce.app import create_app
from copcca.sandbox.woocommerce.store import ShopSettings, WooStore
from tests.connectors.conformance import (
    ConformanceTarget,
    ConnectorConformance,
    WebhookConformance,
    WebhookTarget,
)

SECRET = "woo-webhook-secret-for-conformance"


@pytest.fixture
def woo_store() -> Iterator[tuple[WooStore, str]]:
    # 150 orders: two pages of 100.
    store = WooStore(ShopSettings(orders=150, customers=30, retry_after="0.01"))
    with serving(create_app(store)) as url:
        yield store, url


def credentials(store: WooStore, url: str, secret: str | None = None) -> dict[str, Any]:
    return {
        "store_url": url,
        "consumer_key": store.settings.consumer_key,
        "consumer_secret": secret or store.settings.consumer_secret,
        "webhook_secret": SECRET,
    }


class TestWooCommerceConformance(ConnectorConformance):
    @pytest.fixture
    def conformance(self, woo_store: tuple[WooStore, str]) -> ConformanceTarget:
        store, url = woo_store
        return ConformanceTarget(
            provider="woocommerce",
            credentials=credentials(store, url),
            bad_credentials=credentials(store, url, secret="cs_revoked"),
            throttle=lambda n: store.faults.update({"throttle_next": n}),
            fail=lambda n: store.faults.update({"fail_next": n, "fail_status": 503}),
            change=lambda: store.set_status(seed.ORDER_BASE + 7, "cancelled"),
            paged_stream="orders",
        )


class TestWooCommerceWebhookConformance(WebhookConformance):
    @pytest.fixture
    def webhook_target(self, woo_store: tuple[WooStore, str]) -> WebhookTarget:
        store, url = woo_store
        body = json.dumps(
            store.orders.get(seed.ORDER_BASE + 1), separators=(",", ":")
        ).encode()

        def signed(raw: bytes, secret: str) -> dict[str, str]:
            return {
                "content-type": "application/json",
                "x-wc-webhook-topic": "order.updated",
                "x-wc-webhook-id": "3",
                "x-wc-webhook-delivery-id": "5f1d7a2c4a0b9e7d",
                "x-wc-webhook-signature": webhooks.sign(secret, raw),
            }

        return WebhookTarget(
            provider="woocommerce",
            credentials=credentials(store, url),
            body=body,
            sign=signed,
            secret=SECRET,
            signature_header="x-wc-webhook-signature",
        )
