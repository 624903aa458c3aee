"""WooCommerce webhooks: verify, parse, and turn into CRM records.

- ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body,
  keyed by the secret typed when the webhook was created; compared in
  constant time (W1, W2).
- Creating a webhook makes WooCommerce send a ping: a form body
  ``webhook_id=N``, unsigned, which must get a 200. We accept it only when
  the body is exactly that form, and it stores nothing.
- The event id: WooCommerce's ``X-WC-Webhook-Delivery-ID`` is a hash of
  the webhook id and the time *in whole seconds* (``WC_Webhook::
  get_new_delivery_id``), so two different changes sent in one second share
  it. The id we de-duplicate on is webhook id + delivery id + a digest of
  the body: the same delivery twice is stored once (W7), two changes in one
  second are both kept.
- Order of arrival: each record carries its ``date_modified_gmt``; an older
  version than the one stored changes nothing.

Source: woocommerce/woocommerce ``includes/class-wc-webhook.php``
(``deliver``, ``generate_signature``, ``deliver_ping``); providers.md §7.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from copcca.connectors.base import InboundEvent
from copcca.connectors.errors import WebhookRejected
from copcca.connectors.woocommerce import mapping
from copcca.security.signatures import constant_time_equal, hmac_sha256_b64, sha256_hex

PING = re.compile(rb"^webhook_id=\d{1,20}$")
TOPICS = (
    "order.created",
    "order.updated",
    "customer.created",
    "customer.updated",
    "product.created",
    "product.updated",
)


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(name.lower())


def is_ping(body: bytes) -> bool:
    return bool(PING.match(body.strip()))


def sign(secret: str, body: bytes) -> str:
    return hmac_sha256_b64(secret.encode(), body)


def verify(secret: str | None, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise ``WebhookRejected`` unless the body is signed with our secret
    (or is exactly WooCommerce's unsigned creation ping)."""
    given = header(headers, "x-wc-webhook-signature")
    if not given:
        if is_ping(body):
            return
        raise WebhookRejected("The delivery has no X-WC-Webhook-Signature header.")
    if not secret:
        raise WebhookRejected("No webhook secret is set for this shop.")
    if not constant_time_equal(sign(secret, body), given.strip()):
        raise WebhookRejected("The WooCommerce signature does not match the body.")


def parse(body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
    """The delivery's event; the creation ping is acknowledged with none."""
    if not header(headers, "x-wc-webhook-signature") and is_ping(body):
        return []
    delivery = header(headers, "x-wc-webhook-delivery-id")
    if not delivery:
        raise ValueError("The delivery has no X-WC-Webhook-Delivery-ID header.")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("The delivery body is not a JSON object.")
    hook = header(headers, "x-wc-webhook-id") or "0"
    return [
        InboundEvent(
            event_id=f"{hook[:20]}:{delivery[:64]}:{sha256_hex(body)[:32]}",
            type=header(headers, "x-wc-webhook-topic") or "unknown",
            payload=payload,
            external_id=str(payload["id"]) if payload.get("id") is not None else None,
        )
    ]


def records_for(event: InboundEvent, currency: str) -> list[Any]:
    """CRM records an event brings; none for deletions and unknown topics."""
    if event.type in ("order.created", "order.updated"):
        return [mapping.sale_record(event.payload)]
    if event.type in ("customer.created", "customer.updated"):
        return [mapping.customer_record(event.payload)]
    if event.type in ("product.created", "product.updated"):
        return [mapping.product_record(event.payload, currency)]
    return []
