"""Shopify webhooks: verify, parse, and turn into CRM records.

- ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body with
  the app's secret, compared in constant time (W1, W2). The newer "events"
  deliveries use the same names without ``x-``.
- The event id is ``X-Shopify-Webhook-Id`` (or ``X-Shopify-Event-Id``): the
  same delivery retried keeps it, so the inbox stores it once (W7).
- ``X-Shopify-Triggered-At`` says when the change happened; an older
  delivery than the version already applied changes nothing (W9).

Source: shopify-app-js ``lib/webhooks/validate.ts`` and ``header-names.ts``;
providers.md §6.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from copcca.connectors import payloads as p
from copcca.connectors.base import InboundEvent
from copcca.connectors.errors import DataError, WebhookRejected
from copcca.connectors.shopify import mapping
from copcca.security.signatures import constant_time_equal, hmac_sha256_b64

TOPICS = (
    "orders/create",
    "orders/updated",
    "customers/create",
    "customers/update",
    "products/update",
    "app/uninstalled",
)
UNINSTALLED = "app/uninstalled"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A Shopify header in either spelling (``X-Shopify-Topic``, ``shopify-topic``)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(f"x-shopify-{name}") or lowered.get(f"shopify-{name}")


def sign(secret: str, body: bytes) -> str:
    return hmac_sha256_b64(secret.encode(), body)


def verify(secret: str | None, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise ``WebhookRejected`` unless the raw body carries our app's HMAC."""
    given = header(headers, "hmac-sha256")
    if not given:
        raise WebhookRejected("The delivery has no X-Shopify-Hmac-Sha256 header.")
    if not secret:
        raise WebhookRejected("No webhook secret is set for this store.")
    if not constant_time_equal(sign(secret, body), given.strip()):
        raise WebhookRejected("The Shopify signature does not match the body.")


def parse(body: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
    """One event per delivery, with the webhook id as its stable id.
    Raises ``ValueError`` for an authentic delivery that cannot be read."""
    event_id = header(headers, "webhook-id") or header(headers, "event-id")
    if not event_id:
        raise ValueError("The delivery has no X-Shopify-Webhook-Id header.")
    payload = json.loads(body)  # a ValueError marks the delivery unreadable
    if not isinstance(payload, dict):
        raise ValueError("The delivery body is not a JSON object.")
    topic = header(headers, "topic") or "unknown"
    triggered = _time(header(headers, "triggered-at"))
    return [
        InboundEvent(
            event_id=event_id[:255],
            type=topic,
            payload=payload,
            occurred_at=triggered,
            external_id=str(payload["id"]) if payload.get("id") is not None else None,
        )
    ]


def records_for(event: InboundEvent, currency: str) -> list[Any]:
    """CRM records an event brings; empty for topics that bring none.

    The records carry the delivery's trigger time as their version when it
    is older than the payload's ``updated_at``, so a retried old delivery
    loses against the version already stored (W9).
    """
    topic = event.type
    if topic in ("orders/create", "orders/updated", "orders/paid", "orders/cancelled"):
        records: list[Any] = [mapping.sale_record(event.payload)]
    elif topic in ("customers/create", "customers/update"):
        records = [mapping.customer_record(event.payload)]
    elif topic in ("products/create", "products/update"):
        records = list(mapping.product_records(event.payload, currency))
    else:
        return []
    if event.occurred_at is not None:
        for record in records:
            if record.updated_at is None or event.occurred_at < record.updated_at:
                record.updated_at = event.occurred_at
    return records


def _time(value: str | None) -> datetime | None:
    try:
        return p.timestamp(value, record="delivery", required=False)
    except DataError:
        return None
