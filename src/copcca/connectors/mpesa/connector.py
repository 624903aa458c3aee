"""The M-Pesa connector: check the credentials, push, and confirm payments
with Daraja before they count."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from copcca.connectors.base import (
    CheckResult,
    Connector,
    ConnectorContext,
    InboundEvent,
    Stream,
)
from copcca.connectors.errors import ProviderError
from copcca.connectors.http import ProviderHttp, RetryPolicy
from copcca.connectors.mpesa import mapping
from copcca.connectors.mpesa.client import (
    PROVIDER,
    DarajaClient,
    DarajaSettings,
    classify_daraja,
)
from copcca.connectors.mpesa.webhooks import MpesaReceiver
from copcca.payments.evidence import NoticeEvidence, PushEvidence, ResultEvidence
from copcca.payments.rails import (
    Confirmed,
    PaymentRail,
    PushAck,
    PushOrder,
    RequestFacts,
    StatusAnswer,
    Verdict,
)

SENDING_PREFIX = "local:"  # a push written before Daraja gave its CheckoutRequestID


def client_for(ctx: ConnectorContext, *, attempts: int = 3) -> DarajaClient:
    http = ProviderHttp(
        ctx.http,
        provider=PROVIDER,
        classifier=classify_daraja,
        retry=RetryPolicy(max_attempts=attempts, max_retry_after=30.0),
    )
    return DarajaClient(http, DarajaSettings.from_config(ctx.config))


class MpesaConnector(Connector, PaymentRail, MpesaReceiver):
    key = "mpesa"

    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            client_for(ctx, attempts=1).token(force=True)
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        return CheckResult(True, "M-Pesa accepted the consumer key and secret.")

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        return []  # payments arrive by callback, or by statement upload

    def currency(self, config: dict[str, Any]) -> str:
        return mapping.CURRENCY

    def can_push(self, config: dict[str, Any]) -> bool:
        return bool(config.get("passkey"))

    def push(self, ctx: ConnectorContext, order: PushOrder) -> PushAck:
        answer = client_for(ctx).stk_push(
            phone=order.phone,
            amount_minor=order.amount_minor,
            account_reference=order.account_reference,
            description=order.description,
            callback_url=order.callback_url,
            at=ctx.clock(),
        )
        return PushAck(
            reference=str(answer["CheckoutRequestID"]),
            message=str(answer.get("CustomerMessage") or ""),
            extra={"merchant_request_id": str(answer.get("MerchantRequestID") or "")},
        )

    def status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        if request.origin == "push":
            return self._stk_status(ctx, request)
        return self._transaction_status(ctx, request)

    def _stk_status(self, ctx: ConnectorContext, request: RequestFacts) -> StatusAnswer:
        if request.reference.startswith(SENDING_PREFIX):
            return StatusAnswer(
                Verdict.PENDING, "M-Pesa never acknowledged the request."
            )
        answer = client_for(ctx).stk_query(request.reference, at=ctx.clock())
        if not answer.final:
            return StatusAnswer(Verdict.PENDING, answer.result_desc)
        code = str(answer.result_code)
        if not answer.succeeded:
            return StatusAnswer(Verdict.FAILED, answer.result_desc, code)
        # STK Query confirms the request was paid in full; it carries no
        # receipt, so the amount and phone are the ones we asked for.
        return StatusAnswer(
            Verdict.PAID,
            answer.result_desc,
            code,
            Confirmed(
                amount_minor=request.amount_minor,
                currency=request.currency,
                phone=request.phone,
                account_reference=request.account_reference,
            ),
        )

    def _transaction_status(
        self, ctx: ConnectorContext, request: RequestFacts
    ) -> StatusAnswer:
        client = client_for(ctx)
        if not client.settings.can_query_transactions:
            return StatusAnswer(
                Verdict.UNVERIFIABLE,
                "This connection has no API initiator, so Safaricom cannot be "
                "asked to confirm the payment.",
            )
        assert request.result_url
        assert request.timeout_url
        assert request.receipt
        answer = client.transaction_status(
            receipt=request.receipt,
            result_url=request.result_url,
            timeout_url=request.timeout_url,
        )
        return StatusAnswer(
            Verdict.ASYNC,
            str(answer.get("ResponseDescription") or ""),
            conversation_id=str(answer["ConversationID"]),
        )

    # webhooks: phase 1 of processing, outside any transaction ----------
    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        """Evidence for the payments intake; an STK callback is checked with
        STK Query here (a C2B confirmation is checked by a job, which knows
        where Daraja should send the Transaction Status answer)."""
        data = event.payload
        if event.type == "mpesa.stk_callback":
            return [self._stk_evidence(ctx, event.event_id, data)]
        if event.type == "mpesa.c2b_confirmation":
            return [notice_evidence(event.event_id, mapping.parse_c2b(data))]
        if event.type in ("mpesa.result", "mpesa.timeout"):
            return [result_evidence(event.event_id, mapping.parse_result(data))]
        return []

    def _stk_evidence(
        self, ctx: ConnectorContext, delivery: str, data: dict[str, Any]
    ) -> PushEvidence:
        result = mapping.parse_stk_callback(data)
        facts = RequestFacts(
            origin="push",
            reference=result.checkout_request_id,
            amount_minor=result.amount_minor or 0,
            currency=mapping.CURRENCY,
            phone=result.phone,
        )
        try:
            answer: StatusAnswer | None = self._stk_status(ctx, facts)
        except ProviderError:
            answer = None  # the intake schedules a check for later
        return PushEvidence(
            provider=self.key,
            reference=result.checkout_request_id,
            delivery=delivery,
            succeeded=result.succeeded,
            code=str(result.result_code),
            message=result.result_desc,
            amount_minor=result.amount_minor,
            currency=mapping.CURRENCY,
            receipt=result.receipt,
            phone=result.phone,
            paid_at=result.paid_at,
            answer=answer,
        )


def notice_evidence(delivery: str, c2b: mapping.C2BPayment) -> NoticeEvidence:
    return NoticeEvidence(
        provider="mpesa",
        delivery=delivery,
        receipt=c2b.trans_id,
        amount_minor=c2b.amount_minor,
        currency=mapping.CURRENCY,
        account_reference=c2b.bill_ref or None,
        phone=mapping.usable_phone(c2b.msisdn),
        phone_hint=c2b.msisdn or None,
        payer_name=c2b.payer_name or None,
        paid_at=c2b.paid_at,
        shortcode=c2b.shortcode or None,
        raw=c2b.raw,
    )


def result_evidence(delivery: str, notice: mapping.ResultNotice) -> ResultEvidence:
    base = ResultEvidence(
        provider="mpesa",
        delivery=delivery,
        conversation_id=notice.conversation_id,
        originator_id=notice.originator_conversation_id,
        succeeded=notice.succeeded,
        code=str(notice.result_code),
        message=notice.result_desc,
        receipt=notice.reference.get("Occasion") or None,
    )
    balance = notice.params.get("AccountBalance")
    if balance is not None:
        return replace(base, balance=tuple(mapping.parse_balance(balance)))
    if not notice.succeeded or "ReceiptNo" not in notice.params:
        return base
    facts = mapping.transaction_facts(notice)
    if not facts.completed:
        return replace(base, receipt=facts.receipt)
    confirmed = Confirmed(
        amount_minor=facts.amount_minor,
        currency=mapping.CURRENCY,
        receipt=facts.receipt,
        received_at=facts.finished_at,
        phone=facts.payer_phone,
        phone_hint=facts.debit_party.split(" - ")[0].strip() or None,
        payer_name=facts.payer_name or None,
        shortcode=facts.credit_party.split(" - ")[0].strip() or None,
    )
    return replace(base, receipt=facts.receipt, confirmed=confirmed)
