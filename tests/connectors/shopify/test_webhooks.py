"""Shopify webhook verification over the raw bytes (W1, W2), ids (W7) and
staleness (W9). Expected signatures are computed here with the standard
library, independently of the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from copcca.connectors.base import ConnectionRevoked, InboundEvent
from copcca.connectors.errors import WebhookRejected
from copcca.connectors.shopify import webhooks
from copcca.connectors.shopify.connector import ShopifyConnector

SECRET = "app-secret"
BODY = json.dumps({"id": 820982911946154508, "email": "jon@example.com"}).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()
    ).decode()


def headers(body: bytes = BODY, **extra: str) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": signature(body),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "duka.myshopify.com",
        "X-Shopify-API-Version": "2025-07",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        **extra,
    }


def test_a_correctly_signed_delivery_passes() -> None:
    webhooks.verify(SECRET, BODY, headers())


def test_the_newer_header_names_without_x_prefix_pass() -> None:
    given = {"shopify-hmac-sha256": signature(BODY), "shopify-topic": "orders/create"}
    webhooks.verify(SECRET, BODY, given)


@pytest.mark.parametrize(
    ("body", "hdrs", "secret"),
    [
        (BODY + b" ", headers(), SECRET),  # tampered body
        (BODY, headers(), "wrong-secret"),  # wrong secret
        (BODY, {k: v for k, v in headers().items() if "Hmac" not in k}, SECRET),
        (
            json.dumps(json.loads(BODY), indent=2).encode(),
            headers(),
            SECRET,
        ),  # re-serialised
        (BODY, headers(), None),  # no secret configured
    ],
    ids=["tampered", "wrong-secret", "missing-header", "reserialised", "no-secret"],
)
def test_anything_else_is_rejected(
    body: bytes, hdrs: dict[str, str], secret: str | None
) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(secret, body, hdrs)


def test_signatures_are_compared_with_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    real = hmac.compare_digest
    monkeypatch.setattr(
        hmac, "compare_digest", lambda a, b: seen.append(a) or real(a, b)
    )
    webhooks.verify(SECRET, BODY, headers())
    assert seen


def test_parse_uses_the_webhook_id_and_trigger_time() -> None:
    hdrs = headers(**{"X-Shopify-Triggered-At": "2025-03-01T10:00:00.123Z"})
    [event] = webhooks.parse(BODY, hdrs)
    assert event.event_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.type == "orders/create"
    assert event.external_id == "820982911946154508"
    assert event.occurred_at == datetime(2025, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_event_id_falls_back_to_x_shopify_event_id() -> None:
    hdrs = {k: v for k, v in headers().items() if k != "X-Shopify-Webhook-Id"}
    [event] = webhooks.parse(BODY, {**hdrs, "X-Shopify-Event-Id": "evt-9"})
    assert event.event_id == "evt-9"


def test_an_authentic_delivery_without_id_or_json_is_unreadable() -> None:
    hdrs = {k: v for k, v in headers().items() if k != "X-Shopify-Webhook-Id"}
    with pytest.raises(ValueError, match="Webhook-Id"):
        webhooks.parse(BODY, hdrs)
    with pytest.raises(ValueError, match="Expecting value"):
        webhooks.parse(b"not json", headers(b"not json"))


def _order(updated: str) -> dict[str, object]:
    return {
        "id": 1,
        "name": "#1001",
        "currency": "KES",
        "total_price": "100.00",
        "created_at": "2025-03-01T09:00:00+03:00",
        "updated_at": updated,
        "line_items": [],
    }


def test_an_older_trigger_time_becomes_the_records_version() -> None:
    # A retry of an old delivery: its trigger time is what the staleness
    # check compares, even if the payload were newer (W9).
    event = InboundEvent(
        "e1",
        "orders/updated",
        _order("2025-03-01T12:00:00+03:00"),
        occurred_at=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
    )
    [record] = webhooks.records_for(event, "KES")
    assert record.updated_at == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_app_uninstalled_means_reconnect() -> None:
    event = InboundEvent("e2", "app/uninstalled", {"id": 1})
    assert webhooks.records_for(event, "KES") == []
    [revoked] = ShopifyConnector().apply_webhook(None, event)  # type: ignore[arg-type]
    assert isinstance(revoked, ConnectionRevoked)


def test_unknown_topics_bring_no_records() -> None:
    assert (
        webhooks.records_for(InboundEvent("e3", "carts/update", {"id": 1}), "KES") == []
    )
