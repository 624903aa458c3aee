"""The Tigo Pesa connector.

Tigo documents no status API, so a callback cannot be checked with Tigo.
A Tigo payment counts only when its callback arrives on the company's
secret address (and allowlisted IPs, if set) and names a ReferenceID we
generated at random for a pending request, with exactly that amount; the
owner can choose to confirm every Tigo payment by hand instead. See
ADR 0006.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from copcca.connectors.base import (
    CheckResult,
    Connector,
    ConnectorContext,
    InboundEvent,
    Stream,
    WebhookAck,
    WebhookReceiver,
)
from copcca.connectors.errors import DataError, ProviderError
from copcca.connectors.http import ProviderHttp, RetryPolicy
from copcca.connectors.mpesa import mapping as json_mapping
from copcca.connectors.mpesa.webhooks import allowed_networks
from copcca.connectors.tigo_pesa import mapping
from copcca.connectors.tigo_pesa.client import PROVIDER, TigoClient, TigoSettings
from copcca.payments.evidence import PushEvidence
from copcca.payments.rails import (
    Confirmed,
    PaymentRail,
    PushAck,
    PushOrder,
    RequestFacts,
    StatusAnswer,
    Verdict,
)
from copcca.security.signatures import sha256_hex

log = logging.getLogger("copcca.connectors.tigo_pesa")
EVENT_TYPE = "tigo.push_callback"


def client_for(ctx: ConnectorContext, *, attempts: int = 3) -> TigoClient:
    http = ProviderHttp(
        ctx.http, provider=PROVIDER, retry=RetryPolicy(max_attempts=attempts)
    )
    return TigoClient(http, TigoSettings.from_config(ctx.config))


class TigoPesaConnector(Connector, PaymentRail, WebhookReceiver):
    key = "tigo_pesa"
    known_event_types = frozenset({EVENT_TYPE})

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client_for(ctx, attempts=1).token(force=True)
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "Tigo accepted the username and password.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        return []

    def currency(self, config: dict[str, Any]) -> str | None:
        return mapping.CURRENCY

    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        settings = TigoSettings.from_config(ctx.config)
        # BillerCode + a random tail: a reference only Tigo and we know.
        reference = f"{settings.biller_code}{secrets.token_hex(10).upper()}"
        client_for(ctx).push(
            reference_id=reference,
            phone=order.phone,
            amount_minor=order.amount_minor,
            remarks=order.description,
        )
        return PushAck(reference, "The customer has the Tigo Pesa prompt.")

    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        return StatusAnswer(Verdict.PENDING, "Tigo offers no status query.")

    # webhooks --------------------------------------------------------------
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
            log.warning("Tigo callback refused: %s", exc.message)
            raise
        event_id = f"tigo:{callback.reference_id}:{sha256_hex(body)[:16]}"
        return [InboundEvent(event_id, EVENT_TYPE, json_mapping.plain(data))]

    def allowed_sources(self, config: Mapping[str, Any]) -> Sequence[str] | None:
        return allowed_networks(config)

    def webhook_ack(self, events: Sequence[InboundEvent]) -> WebhookAck:
        if not events:
            body = mapping.callback_reply("", False)
            return WebhookAck(400, json.dumps(body).encode())
        callback = mapping.parse_callback(events[0].payload)
        body = mapping.callback_reply(callback.reference_id, True)
        return WebhookAck(200, json.dumps(body).encode())

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        if event.type != EVENT_TYPE:
            return []
        callback = mapping.parse_callback(event.payload)
        if ctx.config.get("hold_for_review"):
            answer = StatusAnswer(
                Verdict.UNVERIFIABLE,
                "You chose to confirm every Tigo payment yourself.",
            )
        elif callback.succeeded:
            answer = StatusAnswer(
                Verdict.PAID,
                callback.description,
                confirmed=Confirmed(
                    amount_minor=callback.amount_minor or 0,
                    currency=mapping.CURRENCY,
                    receipt=callback.mfs_transaction_id,
                    receipt_verified=False,
                ),
            )
        else:
            answer = StatusAnswer(Verdict.FAILED, callback.description)
        return [
            PushEvidence(
                provider=self.key,
                reference=callback.reference_id,
                delivery=event.event_id,
                succeeded=callback.succeeded,
                message=callback.description,
                amount_minor=callback.amount_minor,
                currency=mapping.CURRENCY,
                receipt=callback.mfs_transaction_id,
                answer=answer,
            )
        ]
