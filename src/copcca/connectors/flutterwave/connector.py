"""The Flutterwave connector: a webhook counts only when it carries the
secret hash (``verif-hash``, or the newer HMAC ``flutterwave-signature``)
and the transaction, verified again by API, agrees on status, amount,
currency and reference (promise P6)."""

from __future__ import annotations

import base64
import logging
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
from copcca.connectors.errors import (
    DataError,
    ProviderError,
    RequestError,
    WebhookRejected,
)
from copcca.connectors.flutterwave import mapping
from copcca.connectors.flutterwave.client import PROVIDER, FlutterwaveClient
from copcca.connectors.http import ProviderHttp, RetryPolicy
from copcca.connectors.mpesa import mapping as json_mapping
from copcca.crm.phones import normalise_phone
from copcca.payments.evidence import NoticeEvidence
from copcca.payments.rails import (
    Confirmed,
    PaymentRail,
    PushAck,
    PushOrder,
    RequestFacts,
    StatusAnswer,
    Verdict,
)
from copcca.security.signatures import constant_time_equal, hmac_sha256

log = logging.getLogger("copcca.connectors.flutterwave")
CHARGE_COMPLETED = "charge.completed"


def client_for(ctx: ConnectorContext) -> FlutterwaveClient:
    http = ProviderHttp(ctx.http, provider=PROVIDER, retry=RetryPolicy(max_attempts=3))
    return FlutterwaveClient(http, ctx.config)


class FlutterwaveConnector(Connector, PaymentRail, WebhookReceiver):
    key = "flutterwave"
    known_event_types = frozenset({CHARGE_COMPLETED})

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client_for(ctx).check()
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "Flutterwave accepted the secret key.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        return []

    def currency(self, config: dict[str, Any]) -> str | None:
        return None

    def can_push(self, config: dict[str, Any]) -> bool:
        return False

    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        raise RequestError("Flutterwave payments are started by the customer.")

    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        charge = client_for(ctx).verify(request.reference)
        return answer_for(charge, ctx.region)

    # webhooks --------------------------------------------------------------
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        secret = str(config.get("secret_hash") or "")
        if not secret:
            raise WebhookRejected("no secret hash is saved")
        plain = headers.get("verif-hash")
        signed = headers.get("flutterwave-signature")
        if plain is not None and constant_time_equal(secret, plain):
            return
        if signed is not None:
            expected = base64.b64encode(hmac_sha256(secret.encode(), body)).decode()
            if constant_time_equal(expected, signed):
                return
        raise WebhookRejected("verif-hash missing or wrong")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        data = json_mapping.load(body)
        event = str(data.get("event") or data.get("type") or "")
        inner = data.get("data")
        if not event or not isinstance(inner, dict) or not inner.get("id"):
            raise DataError("The Flutterwave webhook has no event or transaction id.")
        return [InboundEvent(f"{event}:{inner['id']}", event, json_mapping.plain(data))]

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        if event.type != CHARGE_COMPLETED:
            return []
        claim = mapping.parse_charge(event.payload["data"])
        try:
            answer: StatusAnswer | None = answer_for(
                client_for(ctx).verify(claim.id), ctx.region
            )
        except ProviderError as exc:
            if exc.retryable:
                answer = None  # verified again later by the payments job
            else:
                answer = StatusAnswer(Verdict.FAILED, exc.message)
        return [
            NoticeEvidence(
                provider=self.key,
                delivery=event.event_id,
                receipt=claim.id,
                amount_minor=claim.amount_minor,
                currency=claim.currency,
                account_reference=claim.tx_ref or None,
                phone=normalise_phone(claim.customer_phone, ctx.region),
                payer_name=claim.customer_name,
                paid_at=claim.created_at,
                method=mapping.method_of(claim.payment_type),
                raw={"tx_ref": claim.tx_ref, "payment_type": claim.payment_type},
                answer=answer,
            )
        ]


def answer_for(charge: mapping.Charge, region: str) -> StatusAnswer:
    if not charge.successful:
        return StatusAnswer(
            Verdict.FAILED, f"Flutterwave says the payment is {charge.status}."
        )
    return StatusAnswer(
        Verdict.PAID,
        "Verified with Flutterwave.",
        confirmed=Confirmed(
            amount_minor=charge.amount_minor,
            currency=charge.currency,
            receipt=charge.id,
            received_at=charge.created_at,
            phone=normalise_phone(charge.customer_phone, region),
            payer_name=charge.customer_name,
            account_reference=charge.tx_ref or None,
        ),
    )
