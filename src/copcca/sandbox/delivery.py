"""Webhook delivery from an emulator to the hub, over real HTTP.

Each delivery keeps its exact bytes and headers, so a redelivery is what
a provider's retry is: the same body, signature and delivery id. Tests
can hand in any ``httpx.Client`` (e.g. a Starlette ``TestClient`` of the
hub) to deliver in-process.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

KEEP = 500  # deliveries remembered for redelivery and inspection


@dataclass
class Delivery:
    id: str
    topic: str
    address: str
    body: bytes
    headers: dict[str, str]
    attempts: int = 0
    status: int | None = None
    error: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "address": self.address,
            "attempts": self.attempts,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
            "headers": self.headers,
            "bytes": len(self.body),
        }


class WebhookSender:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self.client = client
        self._deliveries: OrderedDict[str, Delivery] = OrderedDict()
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        if self.client is None:
            self.client = httpx.Client(timeout=httpx.Timeout(5.0, connect=1.0))
        return self.client

    def send(
        self, topic: str, address: str, body: bytes, headers: dict[str, str]
    ) -> Delivery:
        delivery = Delivery(uuid.uuid4().hex, topic, address, body, headers)
        with self._lock:
            self._deliveries[delivery.id] = delivery
            while len(self._deliveries) > KEEP:
                self._deliveries.popitem(last=False)
        return self.attempt(delivery)

    def attempt(self, delivery: Delivery) -> Delivery:
        """Post the stored bytes once more (a provider's retry)."""
        delivery.attempts += 1
        try:
            response = self._client().post(
                delivery.address, content=delivery.body, headers=delivery.headers
            )
        except httpx.HTTPError as exc:
            delivery.status, delivery.error = None, type(exc).__name__
        else:
            delivery.status, delivery.error = response.status_code, None
        return delivery

    def get(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def recent(self, limit: int = 50) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries.values())[-limit:]
