"""Apply payment evidence to the database, in the unit of work of the
webhook job (or a status check). Registered as ``Ingestor`` upserters, so
the inbox's processing job applies them like any other record.

Nothing here trusts a callback: money is credited only through
``settle``, with facts the provider confirmed (P3, P4, P6).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from copcca.connectors.mpesa.mapping import BalanceLine
from copcca.crm.ingest import Ingestor, Outcome, Upserted, register_upserter
from copcca.crm.money import format_money
from copcca.db.base import utcnow
from copcca.models.integrations import Integration, SyncStatus
from copcca.models.payments import PaymentRequest, RequestOrigin, RequestStatus
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.answers import (
    apply_answer,
    schedule_check,
    shortcodes_of,
)
from copcca.payments.evidence import (
    NoticeEvidence,
    PushEvidence,
    RefundEvidence,
    ResultEvidence,
)
from copcca.payments.rails import StatusAnswer, Verdict
from copcca.payments.refunds import apply_refund
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.settle import quarantine


# ---------------------------------------------------------------- push
def apply_push(ingest: Ingestor, evidence: PushEvidence) -> Upserted:
    session, company = ingest.session, ingest.company
    repo = PaymentRequestRepository(session, company.id)
    request = repo.locked_by_reference(evidence.provider, evidence.reference)
    if request is None:
        return _orphan(ingest, evidence)
    apply_push_to(session, company, request, evidence, _integration(ingest))
    return Upserted(request.id, Outcome.UPDATED)


def apply_push_to(
    session: Session,
    company: Company,
    request: PaymentRequest,
    evidence: PushEvidence,
    integration: Integration | None,
) -> None:
    request.claimed = {**(request.claimed or {}), "callback": evidence.claim()}
    if request.status == RequestStatus.PAID.value:
        _late(session, company, request)
        return
    if request.status in (RequestStatus.NEEDS_REVIEW, RequestStatus.DISMISSED):
        return
    problem = _claim_problem(request, evidence) if evidence.succeeded else None
    if problem is not None:
        _quarantine_claim(session, company, request, evidence, problem)
        evidence = replace(evidence, answer=None)  # still ask about the request
    if evidence.answer is None:
        request.status = RequestStatus.CONFIRMING.value
        request.next_check_at = utcnow()
        schedule_check(session, company.id, request.id)
        return
    apply_answer(
        session,
        company,
        request,
        _about_request(request, evidence.answer),
        integration=integration,
    )


def _about_request(request: PaymentRequest, answer: StatusAnswer) -> StatusAnswer:
    """A push's status answer confirms *our* request: its amount and phone."""
    if answer.verdict != Verdict.PAID or answer.confirmed is None:
        return answer
    confirmed = replace(
        answer.confirmed,
        amount_minor=request.amount_minor,
        currency=request.currency,
        phone=request.phone or answer.confirmed.phone,
        account_reference=request.account_reference,
    )
    return replace(answer, confirmed=confirmed)


def _claim_problem(request: PaymentRequest, evidence: PushEvidence) -> str | None:
    if evidence.currency and evidence.currency.upper() != request.currency:
        return "currency_mismatch"
    if (
        evidence.amount_minor is not None
        and evidence.amount_minor != request.amount_minor
    ):
        return "amount_mismatch"
    if evidence.phone and request.phone and evidence.phone != request.phone:
        return "phone_mismatch"
    return None


def _late(session: Session, company: Company, request: PaymentRequest) -> None:
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="callback",
        status=SyncStatus.SKIPPED,
        message=(
            f"A late callback about {logs.claim_words(request, company.country)} "
            "arrived; it was already counted, nothing changed."
        ),
        skipped=1,
        details={"request_id": str(request.id)},
    )


def _quarantine_claim(
    session: Session,
    company: Company,
    request: PaymentRequest,
    evidence: PushEvidence,
    reason: str,
) -> None:
    """Keep a callback that contradicts our request apart from it, so the
    request itself stays open for the status check to settle."""
    row = new_request_row(
        session,
        company,
        request.integration_id,
        provider=evidence.provider,
        reference=f"claim:{evidence.delivery}"[:100],
        amount_minor=evidence.amount_minor or 0,
        currency=(evidence.currency or request.currency).upper(),
        phone=evidence.phone,
        claimed={"callback": evidence.claim(), "request_id": str(request.id)},
    )
    if row is not None:
        quarantine(session, company, row, reason)


def _orphan(ingest: Ingestor, evidence: PushEvidence) -> Upserted:
    """A callback for a request we never made (or never stored): quarantined."""
    row = new_request_row(
        ingest.session,
        ingest.company,
        ingest.integration_id,
        provider=evidence.provider,
        reference=f"orphan:{evidence.reference}"[:100],
        amount_minor=evidence.amount_minor or 0,
        currency=(evidence.currency or ingest.company.currency).upper(),
        phone=evidence.phone,
        claimed={"callback": evidence.claim(), "reference": evidence.reference},
    )
    if row is None:
        return Upserted(uuid.uuid4(), Outcome.UNCHANGED)
    quarantine(ingest.session, ingest.company, row, "unknown_request")
    return Upserted(row.id, Outcome.CREATED)


def adopt_orphan(
    session: Session,
    company: Company,
    request: PaymentRequest,
    integration: Integration | None,
) -> None:
    """The push was stored after its callback came: apply that callback now."""
    orphan = PaymentRequestRepository(session, company.id).locked_by_reference(
        request.provider, f"orphan:{request.reference}"
    )
    if orphan is None or orphan.status != RequestStatus.NEEDS_REVIEW.value:
        return
    orphan.status = RequestStatus.DISMISSED.value
    orphan.review_note = "It answered a request stored a moment later."
    claim = (orphan.claimed or {}).get("callback") or {}
    request.claimed = {**(request.claimed or {}), "callback": claim}
    request.status = RequestStatus.CONFIRMING.value
    request.next_check_at = utcnow()
    schedule_check(session, company.id, request.id)


def new_request_row(
    session: Session,
    company: Company,
    integration_id: uuid.UUID | None,
    *,
    provider: str,
    reference: str,
    amount_minor: int,
    currency: str,
    phone: str | None = None,
    claimed: dict[str, Any] | None = None,
    origin: RequestOrigin = RequestOrigin.NOTICE,
    status: RequestStatus = RequestStatus.CONFIRMING,
    **values: Any,
) -> PaymentRequest | None:
    """Insert a request row once; ``None`` if that reference is already stored
    (the same delivery processed twice changes nothing)."""
    repo = PaymentRequestRepository(session, company.id)
    if repo.by_reference(provider, reference) is not None:
        return None
    row = PaymentRequest(
        id=uuid.uuid4(),
        integration_id=integration_id,
        provider=provider,
        origin=origin.value,
        reference=reference,
        amount_minor=amount_minor,
        currency=currency,
        phone=phone,
        status=status.value,
        claimed=claimed or {},
        checks=0,
        **values,
    )
    try:
        with session.begin_nested():
            repo.add(row)
            session.flush()
    except IntegrityError:
        return None  # a concurrent job stored it first
    return row


def _integration(ingest: Ingestor) -> Integration | None:
    if ingest.integration_id is None:
        return None
    return ingest.session.get(Integration, ingest.integration_id)


# ---------------------------------------------------------------- notices
def apply_notice(ingest: Ingestor, evidence: NoticeEvidence) -> Upserted:
    session, company = ingest.session, ingest.company
    integration = _integration(ingest)
    repo = PaymentRequestRepository(session, company.id)
    reference = evidence.receipt
    existing = repo.locked_by_reference(evidence.provider, reference)
    if existing is not None:
        if _same_claim(existing, evidence):
            _duplicate_notice(session, company, existing)
            return Upserted(existing.id, Outcome.UNCHANGED)
        reference = f"{evidence.receipt}~{evidence.delivery[-8:]}"
    row = new_request_row(
        session,
        company,
        ingest.integration_id,
        provider=evidence.provider,
        reference=reference[:100],
        amount_minor=evidence.amount_minor,
        currency=evidence.currency.upper(),
        phone=evidence.phone,
        receipt=evidence.receipt,
        account_reference=(evidence.account_reference or None),
        claimed={
            "notice": True,
            "phone_hint": evidence.phone_hint,
            "payer_name": evidence.payer_name,
            "paid_at": evidence.paid_at.isoformat() if evidence.paid_at else None,
            "shortcode": evidence.shortcode,
            "method": evidence.method,
            "delivery": evidence.delivery,
            "raw": evidence.raw,
        },
    )
    if row is None:
        return Upserted(uuid.uuid4(), Outcome.UNCHANGED)
    # A second, different story about the same receipt is checked on its own:
    # only the version the provider confirms is ever credited.
    codes = shortcodes_of(integration)
    if evidence.shortcode and codes and evidence.shortcode not in codes:
        quarantine(session, company, row, "shortcode_mismatch")
        return Upserted(row.id, Outcome.CREATED)
    if evidence.answer is None:
        row.next_check_at = utcnow()
        schedule_check(session, company.id, row.id)
    else:
        apply_answer(
            session, company, row, _notice_answer(evidence), integration=integration
        )
    return Upserted(row.id, Outcome.CREATED)


def _notice_answer(evidence: NoticeEvidence) -> StatusAnswer:
    """Fill what the provider's confirmation leaves out from the notice."""
    answer = evidence.answer
    assert answer is not None
    if answer.confirmed is None:
        return answer
    confirmed = answer.confirmed
    return replace(
        answer,
        confirmed=replace(
            confirmed,
            account_reference=confirmed.account_reference or evidence.account_reference,
            phone=confirmed.phone or evidence.phone,
            phone_hint=confirmed.phone_hint or evidence.phone_hint,
            payer_name=confirmed.payer_name or evidence.payer_name,
            received_at=confirmed.received_at or evidence.paid_at,
        ),
    )


def _same_claim(row: PaymentRequest, evidence: NoticeEvidence) -> bool:
    return (
        row.amount_minor == evidence.amount_minor
        and row.currency == evidence.currency.upper()
    )


def _duplicate_notice(session: Session, company: Company, row: PaymentRequest) -> None:
    counted = row.status == RequestStatus.PAID.value
    state = "it was already counted" if counted else "we are already checking it"
    logs.write(
        session,
        company.id,
        provider=row.provider,
        integration_id=row.integration_id,
        kind="callback",
        status=SyncStatus.SKIPPED,
        message=(
            f"{logs.claim_words(row, company.country)} (receipt {row.receipt}) "
            f"arrived again; {state}, nothing changed."
        ),
        skipped=1,
        details={"request_id": str(row.id)},
    )


# ---------------------------------------------------------------- results
def apply_result(ingest: Ingestor, evidence: ResultEvidence) -> Upserted:
    session, company = ingest.session, ingest.company
    if evidence.balance is not None:
        return _balance(ingest, evidence)
    repo = PaymentRequestRepository(session, company.id)
    request = (
        repo.by_conversation(evidence.provider, evidence.conversation_id)
        if evidence.conversation_id
        else None
    )
    if request is None and evidence.receipt:
        request = repo.locked_by_reference(evidence.provider, evidence.receipt)
    if request is None:
        _unknown_result(session, company, ingest.integration_id, evidence)
        return Upserted(uuid.uuid4(), Outcome.UNCHANGED)
    if request.status not in (RequestStatus.CONFIRMING, RequestStatus.PENDING):
        return Upserted(request.id, Outcome.UNCHANGED)
    if evidence.succeeded and evidence.confirmed is not None:
        answer = StatusAnswer(
            Verdict.PAID, evidence.message, evidence.code, evidence.confirmed
        )
    elif evidence.succeeded:
        answer = StatusAnswer(Verdict.FAILED, evidence.message, evidence.code)
    else:
        # A timeout or a refusal of our query, not a verdict on the payment.
        answer = StatusAnswer(Verdict.PENDING, evidence.message, evidence.code)
    apply_answer(session, company, request, answer, integration=_integration(ingest))
    return Upserted(request.id, Outcome.UPDATED)


def _unknown_result(
    session: Session,
    company: Company,
    integration_id: uuid.UUID | None,
    evidence: ResultEvidence,
) -> None:
    logs.write(
        session,
        company.id,
        provider=evidence.provider,
        integration_id=integration_id,
        kind="callback",
        status=SyncStatus.SKIPPED,
        message="A query result arrived that answers no question we asked; ignored.",
        skipped=1,
        details={"conversation_id": evidence.conversation_id},
    )


BALANCE_KIND = "balance"


def _balance(ingest: Ingestor, evidence: ResultEvidence) -> Upserted:
    """Finish the balance check the owner started from the integration page."""
    from sqlalchemy import select

    from copcca.models.integrations import SyncLog

    session = ingest.session
    stmt = (
        select(SyncLog)
        .where(
            SyncLog.company_id == ingest.company.id,
            SyncLog.integration_id == ingest.integration_id,
            SyncLog.kind == BALANCE_KIND,
            SyncLog.status == SyncStatus.RUNNING.value,
        )
        .order_by(SyncLog.started_at.desc())
        .limit(20)
    )
    for log in session.scalars(stmt):
        if (log.details or {}).get("conversation_id") == evidence.conversation_id:
            finish_balance(log, evidence.balance or ())
            return Upserted(log.id, Outcome.UPDATED)
    return Upserted(uuid.uuid4(), Outcome.UNCHANGED)


def finish_balance(
    log: Any, lines: tuple[BalanceLine, ...] | list[BalanceLine]
) -> None:
    from copcca.sync.logs import finish_log

    words = "; ".join(
        f"{line.account}: {format_money(line.available_minor, line.currency)}"
        for line in lines
    )
    finish_log(
        log,
        status=SyncStatus.SUCCESS,
        message=f"M-Pesa balance — {words or 'no accounts listed'}.",
    )
    log.details = {
        **(log.details or {}),
        "accounts": [
            {
                "account": line.account,
                "currency": line.currency,
                "available_minor": line.available_minor,
                "current_minor": line.current_minor,
            }
            for line in lines
        ],
    }


# ---------------------------------------------------------------- refunds
def apply_refund_evidence(ingest: Ingestor, evidence: RefundEvidence) -> Upserted:
    refund_id = apply_refund(
        ingest.session, ingest.company, ingest.integration_id, evidence
    )
    if refund_id is None:
        return Upserted(uuid.uuid4(), Outcome.UNCHANGED)
    return Upserted(refund_id, Outcome.CREATED)


register_upserter(PushEvidence, apply_push)
register_upserter(NoticeEvidence, apply_notice)
register_upserter(ResultEvidence, apply_result)
register_upserter(RefundEvidence, apply_refund_evidence)
