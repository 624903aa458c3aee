"""The WooCommerce connector: a REST API key pair, three streams and
signed webhooks. See the package docstring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from copcca.connectors.base import (
    CheckResult,
    Connector,
    ConnectorContext,
    InboundEvent,
    Stream,
    WebhookReceiver,
)
from copcca.connectors.errors import ProviderError, RequestError
from copcca.connectors.woocommerce import mapping, webhooks
from copcca.connectors.woocommerce.client import WooClient
from copcca.connectors.woocommerce.streams import STREAMS


class WooCommerceConnector(Connector, WebhookReceiver):
    key = "woocommerce"
    known_event_types = frozenset(webhooks.TOPICS)

    def check(self, ctx: ConnectorContext) -> CheckResult:
        client = WooClient.from_context(ctx)
        try:
            client.list_page("orders", {"per_page": 1})
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        currency = client.currency()
        how = (
            " (keys sent in the address: your host drops the header)"
            if client.query_auth
            else ""
        )
        return CheckResult(
            True,
            "Connected to your WooCommerce shop"
            + (f", prices in {currency}" if currency else "")
            + how
            + ".",
            details={"currency": currency or "", "query_auth": client.query_auth},
        )

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        client = WooClient.from_context(ctx)
        return [cls(client) for cls in STREAMS]  # type: ignore[call-arg]

    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        secret = config.get("webhook_secret")
        webhooks.verify(str(secret) if secret else None, body, headers)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        return webhooks.parse(body, headers)

    def register_webhooks(self, ctx: ConnectorContext, address: str) -> list[str]:
        """Create a webhook per topic we handle, signed with the stored secret
        (needs a Read/Write key); returns the topics added."""
        secret = str(ctx.config.get("webhook_secret") or "")
        if not secret:
            raise RequestError(
                "Set a webhook secret first.",
                fix="Type any long random text as the webhook secret and save.",
            )
        client = WooClient.from_context(ctx)
        have = {
            str(h.get("topic"))
            for h in client.webhooks()
            if h.get("delivery_url") == address and h.get("status") == "active"
        }
        added = [t for t in webhooks.TOPICS if t not in have]
        for topic in added:
            client.create_webhook(topic, address, secret)
        return added

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        """CRM records a stored event brings; an older version than the one
        stored is left unchanged by the ingest service's version check. A
        partly refunded order's refunded quantities are read from the shop."""
        payload = event.payload
        partly_refunded = (
            event.type.startswith("order.")
            and bool(payload.get("refunds"))
            and payload.get("status") != "refunded"
            and bool(payload.get("id"))
        )
        if partly_refunded:
            client = WooClient.from_context(ctx)
            payload[mapping.REFUND_DETAILS] = client.refunds(str(payload["id"]))
        return webhooks.records_for(event, ctx.currency)
