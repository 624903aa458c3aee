"""Turn provider-confirmed facts into exactly one payment.

Every route a payment can take ends here: an STK/USSD push confirmed by a
status query, a C2B confirmation confirmed by Transaction Status, a
verified Flutterwave or PayPal webhook, a statement row. The rules:

- money is recorded once per ``(provider, receipt)``; the database decides
  between concurrent arrivals (P1, P2);
- a push we made and a notice of the same money (the STK payment's C2B
  confirmation) end on the same payment, whichever comes first (P2);
- facts that disagree with what we asked for or what the provider
  confirmed are quarantined for a person, never credited (P3);
- the payment, its match and their events commit together (P7).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.connectors.mpesa.mapping import phone_matches
from copcca.crm.invoices import normalise_reference
from copcca.crm.payments import PaymentRepository, record_payment
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.models.crm import Payment, PaymentStatus
from copcca.models.integrations import SyncStatus
from copcca.models.payments import (
    OPEN_STATUSES,
    PaymentRequest,
    RequestOrigin,
    RequestStatus,
)
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.rails import Confirmed
from copcca.payments.repository import PaymentRequestRepository
from copcca.reconcile.service import applied_to, reconcile

LINK_WINDOW = timedelta(hours=48)


class Outcome(StrEnum):
    CREDITED = "credited"
    ALREADY = "already"
    QUARANTINED = "quarantined"


def mismatch(
    request: PaymentRequest, confirmed: Confirmed, shortcodes: set[str]
) -> str | None:
    """The review reason when confirmed facts disagree with the request."""
    if confirmed.currency.upper() != request.currency.upper():
        return "currency_mismatch"
    if confirmed.amount_minor != request.amount_minor:
        return "amount_mismatch"
    if confirmed.shortcode and shortcodes and confirmed.shortcode not in shortcodes:
        return "shortcode_mismatch"
    if (
        request.origin == RequestOrigin.PUSH
        and request.phone
        and confirmed.phone
        and confirmed.phone != request.phone
    ):
        return "phone_mismatch"
    if request.origin == RequestOrigin.NOTICE:
        if (
            request.receipt
            and confirmed.receipt
            and request.receipt != confirmed.receipt
        ):
            return "conflicting_claim"
        mine = normalise_reference(request.account_reference)
        theirs = normalise_reference(confirmed.account_reference)
        if mine and theirs and mine != theirs:
            return "conflicting_claim"
        hint = str((request.claimed or {}).get("phone_hint") or "")
        if hint and confirmed.phone and not phone_matches(hint, confirmed.phone):
            return "phone_mismatch"
    return None


def quarantine(
    session: Session,
    company: Company,
    request: PaymentRequest,
    reason: str,
    *,
    note: str | None = None,
    confirmed: Confirmed | None = None,
) -> Outcome:
    """Park it for a person: nothing is credited (promise P3)."""
    request.status = RequestStatus.NEEDS_REVIEW.value
    request.review_reason = reason
    request.review_note = note
    request.next_check_at = None
    if confirmed is not None:
        request.claimed = {**(request.claimed or {}), "confirmed": _facts(confirmed)}
    message, fix = logs.quarantine_words(request, company.country)
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="callback",
        status=SyncStatus.SKIPPED,
        message=message,
        skipped=1,
        error_kind="data",
        fix=fix,
        details={"request_id": str(request.id), "reason": reason, "note": note},
    )
    return Outcome.QUARANTINED


def settle(
    session: Session,
    company: Company,
    request: PaymentRequest,
    confirmed: Confirmed,
    *,
    via: str,
    shortcodes: set[str] | None = None,
) -> Outcome:
    """Record the payment the provider confirmed for ``request`` (locked)."""
    if request.status == RequestStatus.PAID.value:
        _note_late(session, company, request, via)
        return Outcome.ALREADY
    reason = mismatch(request, confirmed, shortcodes or set())
    if reason is not None:
        return quarantine(session, company, request, reason, confirmed=confirmed)
    if request.origin == RequestOrigin.NOTICE and not confirmed.account_reference:
        confirmed = replace(confirmed, account_reference=request.account_reference)
    payment, created, invoice_id = _payment_for(session, company, request, confirmed)
    _mark_paid(request, payment, confirmed, via)
    _match(session, company, payment, created, invoice_id)
    applied = applied_to(session, payment)
    message = logs.payment_words(payment, applied, company.country)
    if not created:
        message = (
            f"{logs.claim_words(request, company.country)} was already counted "
            f"(receipt {payment.provider_reference}); nothing added."
        )
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="payment",
        status=SyncStatus.SUCCESS,
        message=message,
        created=int(created),
        skipped=int(not created),
        details={
            "payment_id": str(payment.id),
            "request_id": str(request.id),
            "via": via,
        },
    )
    return Outcome.CREDITED if created else Outcome.ALREADY


def _mark_paid(
    request: PaymentRequest, payment: Payment, confirmed: Confirmed, via: str
) -> None:
    request.status = RequestStatus.PAID.value
    request.payment_id = payment.id
    if confirmed.receipt:
        request.receipt = confirmed.receipt
        request.receipt_verified = confirmed.receipt_verified
    request.settled_via = via
    request.settled_at = utcnow()
    request.next_check_at = None


def _match(
    session: Session,
    company: Company,
    payment: Payment,
    created: bool,
    requested: uuid.UUID | None,
) -> None:
    if created:
        reconcile(session, company, payment, requested_invoice_id=requested)
        return
    if payment.status == PaymentStatus.NEEDS_REVIEW.value and requested is not None:
        # Queued for review before we knew it was the payment we asked for.
        payment.status = PaymentStatus.RECEIVED.value
    if payment.status == PaymentStatus.RECEIVED.value and not applied_to(
        session, payment
    ):
        reconcile(session, company, payment, requested_invoice_id=requested)


def _payment_for(
    session: Session, company: Company, request: PaymentRequest, confirmed: Confirmed
) -> tuple[Payment, bool, uuid.UUID | None]:
    """(payment, created, invoice the money was requested for)."""
    payments = PaymentRepository(session, company.id)
    invoice_id = request.invoice_id
    if confirmed.receipt:
        existing = payments.by_reference(request.provider, confirmed.receipt)
        if existing is not None:
            if confirmed.receipt_verified:
                _verify_linked_receipts(session, company, request.provider, confirmed)
            _enrich(existing, confirmed)
            return existing, False, invoice_id
    if request.origin == RequestOrigin.NOTICE:
        push = _matching_push(session, company, request, confirmed)
        if push is not None:
            return _join_push(session, company, push, confirmed)
    elif confirmed.receipt is None or not request.receipt_verified:
        found = _matching_notice_payment(session, company, request)
        if found is not None:
            return found, False, invoice_id
    result = record_payment(
        session,
        company,
        _record(request, confirmed),
        request.integration_id,
    )
    return result.payment, result.created, invoice_id


def _enrich(payment: Payment, confirmed: Confirmed) -> None:
    """A second route may know what the first did not (the account number a
    C2B confirmation carries, a whole phone number)."""
    if not payment.account_reference and confirmed.account_reference:
        payment.account_reference = confirmed.account_reference[:100]
        if payment.status == PaymentStatus.NEEDS_REVIEW.value:
            payment.status = PaymentStatus.RECEIVED.value  # match again below
    if not payment.payer_phone and confirmed.phone:
        payment.payer_phone = confirmed.phone


def _record(request: PaymentRequest, confirmed: Confirmed) -> PaymentRecord:
    hint = confirmed.phone_hint or str((request.claimed or {}).get("phone_hint") or "")
    return PaymentRecord(
        provider=request.provider,
        provider_reference=confirmed.receipt or request.reference,
        amount_minor=confirmed.amount_minor,
        currency=confirmed.currency,
        received_at=confirmed.received_at or request.created_at or utcnow(),
        payer_phone=confirmed.phone or request.phone,
        payer_name=confirmed.payer_name,
        account_reference=confirmed.account_reference or request.account_reference,
        method=str((request.claimed or {}).get("method") or "mobile_money"),
        raw={**(confirmed.raw or {}), "phone_hint": hint or None},
    )


def _compatible(request: PaymentRequest, confirmed: Confirmed) -> bool:
    """Could this push request be the payment the notice describes?"""
    mine = normalise_reference(request.account_reference)
    theirs = normalise_reference(confirmed.account_reference)
    if mine and theirs and mine != theirs:
        return False
    if request.phone:
        hint = confirmed.phone_hint or ""
        if confirmed.phone and confirmed.phone != request.phone:
            return False
        if not confirmed.phone and hint and not phone_matches(hint, request.phone):
            return False
    return True


def _matching_push(
    session: Session, company: Company, notice: PaymentRequest, confirmed: Confirmed
) -> PaymentRequest | None:
    """The push request this notice is the payment of, if any (locked)."""
    since = (confirmed.received_at or utcnow()) - LINK_WINDOW
    candidates = PaymentRequestRepository(session, company.id).push_candidates(
        notice.provider, confirmed.amount_minor, since
    )
    for push in candidates:
        if push.status == RequestStatus.PAID.value and push.receipt_verified:
            continue
        if _compatible(push, confirmed):
            return push
    return None


def _join_push(
    session: Session, company: Company, push: PaymentRequest, confirmed: Confirmed
) -> tuple[Payment, bool, uuid.UUID | None]:
    """Settle (or complete) a push request with the notice's verified receipt."""
    assert confirmed.receipt is not None
    if push.status == RequestStatus.PAID.value and push.payment_id is not None:
        payment = PaymentRepository(session, company.id).get_or_404(push.payment_id)
        if payment.provider_reference != confirmed.receipt:
            payment.provider_reference = confirmed.receipt  # the verified receipt
        push.receipt, push.receipt_verified = confirmed.receipt, True
        return payment, False, push.invoice_id
    result = record_payment(
        session, company, _record(push, confirmed), push.integration_id
    )
    _mark_paid(push, result.payment, confirmed, "notice")
    push.receipt_verified = True
    return result.payment, result.created, push.invoice_id


def _matching_notice_payment(
    session: Session, company: Company, push: PaymentRequest
) -> Payment | None:
    """A payment recorded from a notice that is this push's money (P2 when
    the push is confirmed by status query, which gives no receipt)."""
    since = (push.created_at or utcnow()) - timedelta(minutes=5)
    stmt = (
        select(Payment)
        .join(PaymentRequest, PaymentRequest.payment_id == Payment.id)
        .where(
            Payment.company_id == company.id,
            Payment.provider == push.provider,
            Payment.amount_minor == push.amount_minor,
            Payment.received_at >= since,
            PaymentRequest.company_id == company.id,
            PaymentRequest.origin == RequestOrigin.NOTICE.value,
        )
        .order_by(Payment.received_at)
    )
    for payment in session.scalars(stmt).unique():
        if _claimed_by_push(session, company, payment, push):
            continue
        facts = Confirmed(
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            phone=payment.payer_phone,
            phone_hint=str((payment.raw or {}).get("phone_hint") or "") or None,
            account_reference=payment.account_reference,
        )
        if _compatible(push, facts):
            return payment
    return None


def _claimed_by_push(
    session: Session, company: Company, payment: Payment, push: PaymentRequest
) -> bool:
    stmt = select(PaymentRequest.id).where(
        PaymentRequest.company_id == company.id,
        PaymentRequest.payment_id == payment.id,
        PaymentRequest.origin == RequestOrigin.PUSH.value,
        PaymentRequest.id != push.id,
    )
    return session.scalar(stmt.limit(1)) is not None


def _verify_linked_receipts(
    session: Session, company: Company, provider: str, confirmed: Confirmed
) -> None:
    """A notice confirmed this receipt: pushes carrying it are now verified."""
    if not confirmed.receipt:
        return
    for push in PaymentRequestRepository(session, company.id).by_receipt(
        provider, confirmed.receipt
    ):
        push.receipt_verified = True


def _note_late(
    session: Session, company: Company, request: PaymentRequest, via: str
) -> None:
    """A callback after the status check settled it: logged, nothing changes."""
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="callback",
        status=SyncStatus.SKIPPED,
        message=(
            f"{logs.claim_words(request, company.country)} arrived again by {via}; "
            "it was already counted, nothing changed."
        ),
        skipped=1,
        details={"request_id": str(request.id), "via": via},
    )


def _facts(confirmed: Confirmed) -> dict[str, object]:
    return {
        "amount_minor": confirmed.amount_minor,
        "currency": confirmed.currency,
        "receipt": confirmed.receipt,
        "phone": confirmed.phone,
        "payer_name": confirmed.payer_name,
        "received_at": confirmed.received_at.isoformat()
        if confirmed.received_at
        else None,
    }


def is_open(request: PaymentRequest) -> bool:
    return request.status in {s.value for s in OPEN_STATUSES}
