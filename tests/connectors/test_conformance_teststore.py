"""The conformance suite on the test store's connector."""

from __future__ import annotations

import pytest

from tests.connectors.conformance import (
    ConformanceTarget,
    ConnectorConformance,
    WebhookConformance,
    WebhookTarget,
)
from tests.connectors.fixtures import WEBHOOK_SECRET
from tests.connectors.store import TestStore
from tests.connectors.teststore import KEY, sign


class TestTestStoreConformance(ConnectorConformance):
    @pytest.fixture
    def conformance(self, store: TestStore) -> ConformanceTarget:
        return ConformanceTarget(
            provider=KEY,
            credentials={
                "base_url": store.url,
                "api_key": store.api_key,
                "webhook_secret": WEBHOOK_SECRET,
            },
            bad_credentials={"base_url": store.url, "api_key": "revoked-key"},
            throttle=lambda n: store.fail_next(n, 429, {"Retry-After": "0.01"}),
            fail=lambda n: store.fail_next(n, 503),
            change=lambda: store.update("products", 101, price="999.00"),
            paged_stream="customers",
        )


class TestTestStoreWebhookConformance(WebhookConformance):
    @pytest.fixture
    def webhook_target(self, store: TestStore) -> WebhookTarget:
        def signed(body: bytes, secret: str) -> dict[str, str]:
            return {
                "content-type": "application/json",
                "x-test-topic": "customer.updated",
                "x-test-delivery": "conf-1",
                "x-test-signature": sign(body, secret),
            }

        return WebhookTarget(
            provider=KEY,
            credentials={
                "base_url": store.url,
                "api_key": store.api_key,
                "webhook_secret": WEBHOOK_SECRET,
            },
            body=b'{"id":7,"name":"Zawadi"}',
            sign=signed,
            secret=WEBHOOK_SECRET,
            signature_header="x-test-signature",
        )
