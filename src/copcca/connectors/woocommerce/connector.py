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
from copcca.connectors.errors import ProviderError
from copcca.connectors.woocommerce import webhooks
from copcca.connectors.woocommerce.client import WooClient
from copcca.connectors.woocommerce.streams import STREAMS


class WooCommerceConnector(Connector, WebhookReceiver):
    key = "woocommerce"

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

    def event_records(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        """CRM records a verified event brings."""
        return webhooks.records_for(event, ctx.currency)
