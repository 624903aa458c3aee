"""Airtel callbacks: unsigned by default (the optional ``hash`` field's
construction is unconfirmed), so trusted only after the enquiry agrees
(providers.md §2): secret path, optional IP allowlist, then a status query."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from copcca.connectors.airtel_money import mapping
from copcca.connectors.base import InboundEvent, WebhookReceiver
from copcca.connectors.errors import DataError
from copcca.connectors.mpesa import mapping as json_mapping
from copcca.connectors.mpesa.webhooks import allowed_networks
from copcca.security.signatures import sha256_hex

log = logging.getLogger("copcca.connectors.airtel_money")
EVENT_TYPE = "airtel.collection"


class AirtelReceiver(WebhookReceiver):
    known_event_types = frozenset({EVENT_TYPE})

    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        """Unsigned: the route checked the secret path and allowlist."""

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        try:
            data = json_mapping.load(body)
            callback = mapping.parse_callback(data)
        except DataError as exc:
            log.warning("Airtel callback refused: %s", exc.message)
            raise
        event_id = f"airtel:{callback.transaction_id}:{sha256_hex(body)[:16]}"
        return [InboundEvent(event_id, EVENT_TYPE, json_mapping.plain(data))]

    def allowed_sources(self, config: Mapping[str, Any]) -> Sequence[str] | None:
        return allowed_networks(config)
