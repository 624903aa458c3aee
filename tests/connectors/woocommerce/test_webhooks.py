"""WooCommerce webhooks: signature over the raw bytes, the unsigned
creation ping, and event ids that survive WooCommerce's per-second
delivery ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from copcca.connectors.base import InboundEvent
from copcca.connectors.errors import WebhookRejected
from copcca.connectors.woocommerce import webhooks
from copcca.connectors.woocommerce.connector import WooCommerceConnector
from tests.connectors.woocommerce.payloads import order

SECRET = "wc-secret"


def signed(
    body: bytes, delivery: str = "d41d8cd98f00b204e9800998ecf8427e"
) -> dict[str, str]:
    sig = base64.b64encode(
        hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    return {
        "X-WC-Webhook-Signature": sig,
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


BODY = json.dumps(order()).encode()


def test_a_signed_delivery_verifies_and_parses() -> None:
    connector = WooCommerceConnector()
    connector.verify_webhook({"webhook_secret": SECRET}, BODY, signed(BODY))
    [event] = connector.parse_webhook(BODY, signed(BODY))
    assert (event.type, event.external_id) == ("order.updated", "727")


@pytest.mark.parametrize(
    ("body", "headers", "secret"),
    [
        (BODY[:-1] + b" }", signed(BODY), SECRET),
        (BODY, signed(BODY), "other"),
        (BODY, {k: v for k, v in signed(BODY).items() if "Signature" not in k}, SECRET),
        (BODY, signed(BODY), None),
        (b"webhook_id=7&x=1", {}, SECRET),  # not exactly the ping
    ],
    ids=["tampered", "wrong-secret", "missing", "no-secret", "fake-ping"],
)
def test_rejections(body: bytes, headers: dict[str, str], secret: str | None) -> None:
    with pytest.raises(WebhookRejected):
        webhooks.verify(secret, body, headers)


def test_the_creation_ping_is_accepted_and_stores_nothing() -> None:
    ping = b"webhook_id=12"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    webhooks.verify(None, ping, headers)
    assert webhooks.parse(ping, headers) == []


def test_two_changes_in_one_second_keep_distinct_ids_and_a_retry_keeps_its_id() -> None:
    later = json.dumps(order(status="completed")).encode()
    [a] = webhooks.parse(BODY, signed(BODY))
    [b] = webhooks.parse(later, signed(later))  # same per-second delivery id
    [again] = webhooks.parse(BODY, signed(BODY))
    assert a.event_id != b.event_id
    assert a.event_id == again.event_id


def test_a_delivery_without_delivery_id_is_unreadable() -> None:
    headers = {k: v for k, v in signed(BODY).items() if "Delivery" not in k}
    with pytest.raises(ValueError, match="Delivery-ID"):
        webhooks.parse(BODY, headers)


def test_records_for_topics() -> None:
    sale = webhooks.records_for(InboundEvent("e", "order.created", order()), "KES")
    assert len(sale) == 1
    assert (
        webhooks.records_for(InboundEvent("e", "order.deleted", {"id": 1}), "KES") == []
    )
