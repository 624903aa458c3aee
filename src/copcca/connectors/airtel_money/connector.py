"""The Airtel Money connector: USSD push, and the enquiry before any
callback counts (promise P4)."""

from __future__ import annotations

from typing import Any

from copcca.connectors.airtel_money import mapping
from copcca.connectors.airtel_money.client import (
    PROVIDER,
    AirtelClient,
    AirtelSettings,
)
from copcca.connectors.airtel_money.webhooks import EVENT_TYPE, AirtelReceiver
from copcca.connectors.base import (
    CheckResult,
    Connector,
    ConnectorContext,
    InboundEvent,
    Stream,
)
from copcca.connectors.errors import ProviderError
from copcca.connectors.http import ProviderHttp, RetryPolicy
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


def client_for(ctx: ConnectorContext, *, attempts: int = 3) -> AirtelClient:
    http = ProviderHttp(
        ctx.http, provider=PROVIDER, retry=RetryPolicy(max_attempts=attempts)
    )
    return AirtelClient(http, AirtelSettings.from_config(ctx.config))


class AirtelMoneyConnector(Connector, PaymentRail, AirtelReceiver):
    key = "airtel_money"

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client_for(ctx, attempts=1).token(force=True)
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "Airtel accepted the client ID and secret.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        return []

    def currency(self, config: dict[str, Any]) -> str | None:
        return mapping.currency_of(str(config.get("country") or "UG"))

    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        client_for(ctx).push(
            transaction_id=order.reference,
            phone=order.phone,
            amount_minor=order.amount_minor,
            reference=order.description,
        )
        return PushAck(order.reference, "The customer has the Airtel Money prompt.")

    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        enquiry = client_for(ctx).enquiry(request.reference)
        if enquiry.status == mapping.SUCCESS:
            return StatusAnswer(
                Verdict.PAID,
                enquiry.message,
                enquiry.status,
                Confirmed(
                    amount_minor=request.amount_minor,
                    currency=request.currency,
                    receipt=enquiry.airtel_money_id,
                    phone=request.phone,
                    account_reference=request.account_reference,
                ),
            )
        if enquiry.status == mapping.FAILED:
            return StatusAnswer(Verdict.FAILED, enquiry.message, enquiry.status)
        return StatusAnswer(Verdict.PENDING, enquiry.message, enquiry.status)

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        if event.type != EVENT_TYPE:
            return []
        callback = mapping.parse_callback(event.payload)
        currency = self.currency(ctx.config)
        facts = RequestFacts(
            origin="push",
            reference=callback.transaction_id,
            amount_minor=0,
            currency=currency or "",
        )
        try:
            answer: StatusAnswer | None = self.status(ctx, facts)
        except ProviderError:
            answer = None  # checked again by the payments job
        return [
            PushEvidence(
                provider=self.key,
                reference=callback.transaction_id,
                delivery=event.event_id,
                succeeded=callback.succeeded,
                code=callback.status_code,
                message=callback.message,
                receipt=callback.airtel_money_id,
                answer=answer,
            )
        ]
