"""The PayPal connector: webhooks verified with PayPal's verification API
or, if the owner chose it, offline with PayPal's certificate (``certs``;
either way the host of ``PAYPAL-CERT-URL`` must be PayPal's), then the
capture or refund read back from PayPal before it counts (promise P6)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from copcca.connectors.base import (
    CheckResult,
    Connector,
    ConnectorContext,
    InboundEvent,
    Stream,
    WebhookReceiver,
)
from copcca.connectors.errors import (
    DataError,
    ProviderError,
    RequestError,
    WebhookRejected,
)
from copcca.connectors.http import ProviderHttp, RetryPolicy, make_client
from copcca.connectors.mpesa import mapping as json_mapping
from copcca.connectors.paypal import certs, mapping
from copcca.connectors.paypal.client import PROVIDER, PayPalClient, PayPalSettings
from copcca.errors import ServiceUnavailable
from copcca.payments.evidence import NoticeEvidence, RefundEvidence
from copcca.payments.rails import (
    Confirmed,
    PaymentRail,
    PushAck,
    PushOrder,
    RequestFacts,
    StatusAnswer,
    Verdict,
)

log = logging.getLogger("copcca.connectors.paypal")


def client_for(
    ctx_http: Any, config: Mapping[str, Any], attempts: int = 3
) -> PayPalClient:
    http = ProviderHttp(
        ctx_http, provider=PROVIDER, retry=RetryPolicy(max_attempts=attempts)
    )
    return PayPalClient(http, PayPalSettings.from_config(dict(config)))


def trusted_cert_url(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return urlparse(url).scheme == "https" and (
        host == "paypal.com" or host.endswith(".paypal.com")
    )


def _emulator(config: Mapping[str, Any]) -> str | None:
    """The emulator a sandbox connection talks to: its certificates count."""
    if config.get("environment", "sandbox") != "sandbox":
        return None
    return str(config.get("api_base_url") or "") or None


class PayPalConnector(Connector, PaymentRail, WebhookReceiver):
    key = "paypal"
    known_event_types = frozenset({mapping.CAPTURE_COMPLETED, mapping.CAPTURE_REFUNDED})

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client_for(ctx.http, ctx.config, 1).token(force=True)
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "PayPal accepted the client ID and secret.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        return []

    def currency(self, config: dict[str, Any]) -> str | None:
        return None

    def can_push(self, config: dict[str, Any]) -> bool:
        return False

    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        raise RequestError("PayPal payments are started by the customer.")

    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        return answer_for(client_for(ctx.http, ctx.config).capture(request.reference))

    # webhooks --------------------------------------------------------------
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        missing = [h for h in mapping.SIGNATURE_HEADERS if not headers.get(h)]
        if missing:
            raise WebhookRejected(f"missing {', '.join(missing)}")
        if config.get("signature_check") == "certificate":
            with make_client() as http:
                certs.verify(
                    headers, body, config.get("webhook_id"), _emulator(config), http
                )
            return
        if not trusted_cert_url(headers["paypal-cert-url"]):
            raise WebhookRejected("certificate address is not PayPal's")
        try:
            event = json_mapping.load(body)
        except DataError as exc:
            raise WebhookRejected("body is not JSON") from exc
        with make_client() as http:
            try:
                ok = client_for(http, config).verify_signature(
                    {k: headers[k] for k in mapping.SIGNATURE_HEADERS},
                    json_mapping.plain(event),
                )
            except ProviderError as exc:
                if exc.retryable:
                    raise ServiceUnavailable(
                        "PayPal could not verify this event right now.",
                        fix="Nothing to do: PayPal sends it again.",
                    ) from exc
                raise WebhookRejected(f"verification refused: {exc.kind}") from exc
        if not ok:
            raise WebhookRejected("PayPal says the signature is not valid")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        data = json_mapping.load(body)
        event_id = str(data.get("id") or "").strip()
        event_type = str(data.get("event_type") or "").strip()
        if not event_id or not event_type or not isinstance(data.get("resource"), dict):
            raise DataError("The PayPal event has no id, type or resource.")
        return [InboundEvent(event_id, event_type, json_mapping.plain(data))]

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        resource = event.payload.get("resource") or {}
        client = client_for(ctx.http, ctx.config)
        if event.type == mapping.CAPTURE_COMPLETED:
            claim = mapping.parse_capture(resource)
            try:
                answer: StatusAnswer | None = answer_for(client.capture(claim.id))
            except ProviderError as exc:
                answer = (
                    None if exc.retryable else StatusAnswer(Verdict.FAILED, exc.message)
                )
            return [
                NoticeEvidence(
                    provider=self.key,
                    delivery=event.event_id,
                    receipt=claim.id,
                    amount_minor=claim.amount_minor,
                    currency=claim.currency,
                    account_reference=claim.reference,
                    paid_at=claim.created_at,
                    method="card",
                    raw={"event_id": event.event_id},
                    answer=answer,
                )
            ]
        if event.type == mapping.CAPTURE_REFUNDED:
            claim_refund = mapping.parse_refund(resource)
            verified = client.refund(claim_refund.id)  # retried by the inbox if down
            if (
                verified.status != mapping.COMPLETED
                or verified.amount_minor != claim_refund.amount_minor
                or verified.currency != claim_refund.currency
                or verified.capture_id != claim_refund.capture_id
            ):
                raise DataError(
                    "PayPal does not confirm this refund as described.",
                    record=claim_refund.id,
                    fix="Nothing was taken off the invoice. Check the refund in PayPal.",
                )
            return [
                RefundEvidence(
                    provider=self.key,
                    delivery=event.event_id,
                    refund_id=verified.id,
                    payment_reference=verified.capture_id,
                    amount_minor=verified.amount_minor,
                    currency=verified.currency,
                    refunded_at=verified.created_at,
                )
            ]
        return []


def answer_for(capture: mapping.Capture) -> StatusAnswer:
    if capture.status != mapping.COMPLETED:
        return StatusAnswer(
            Verdict.FAILED, f"PayPal says the capture is {capture.status.lower()}."
        )
    return StatusAnswer(
        Verdict.PAID,
        "Verified with PayPal.",
        confirmed=Confirmed(
            amount_minor=capture.amount_minor,
            currency=capture.currency,
            receipt=capture.id,
            received_at=capture.created_at,
            account_reference=capture.reference,
        ),
    )
