"""What pages and the API ask of payments: the attention counts, held
callbacks and the two things a person can do with one (dismiss it, or
record it because the provider confirmed it or their statement shows it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from copcca.crm.money import format_money
from copcca.crm.payments import PaymentRepository
from copcca.errors import Conflict, InvalidInput
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.rails import Confirmed
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.settle import Outcome, settle
from copcca.security import audit
from copcca.security.principal import Principal

# Held for a reason a person can overrule by vouching for the payment.
VOUCHABLE = frozenset({"unverified", "status_timeout", "unknown_request"})


@dataclass(frozen=True)
class Attention:
    to_match: int
    held: int

    @property
    def total(self) -> int:
        return self.to_match + self.held


def attention(session: Session, actor: Principal) -> Attention | None:
    """Counts for the Overview panel (None for people who may not see money)."""
    if not actor.is_admin:
        return None
    return Attention(
        to_match=PaymentRepository(session, actor.company_id).count_needing_review(),
        held=PaymentRequestRepository(session, actor.company_id).count_quarantined(),
    )


def _held(session: Session, actor: Principal, request_id: uuid.UUID) -> PaymentRequest:
    actor.require_admin("decide on held payments")
    row = PaymentRequestRepository(session, actor.company_id).locked(request_id)
    if row is None:
        from copcca.errors import NotFound

        raise NotFound("No such held payment.", fix="Reload the page.")
    if row.status != RequestStatus.NEEDS_REVIEW.value:
        raise Conflict("This is no longer held.", fix="Reload the page.")
    return row


def dismiss(
    session: Session, actor: Principal, company: Company, request_id: uuid.UUID
) -> PaymentRequest:
    """Not a real payment (or not ours): keep it, credit nothing, stop asking."""
    row = _held(session, actor, request_id)
    row.status = RequestStatus.DISMISSED.value
    audit.record(
        session,
        actor,
        "payment.dismiss",
        f"Dismissed a held callback about {logs.claim_words(row, company.country)}.",
        target_type="payment_request",
        target_id=row.id,
        before={"reason": row.review_reason},
    )
    return row


def recordable(row: PaymentRequest) -> Confirmed | None:
    """What recording a held callback would credit, or None if it cannot be."""
    facts = (row.claimed or {}).get("confirmed")
    if isinstance(facts, dict) and facts.get("amount_minor"):
        received = facts.get("received_at")
        return Confirmed(
            amount_minor=int(facts["amount_minor"]),
            currency=str(facts.get("currency") or row.currency),
            receipt=facts.get("receipt") or row.receipt,
            received_at=datetime.fromisoformat(received) if received else None,
            phone=facts.get("phone") or row.phone,
            payer_name=facts.get("payer_name"),
            account_reference=row.account_reference,
        )
    if (
        row.review_reason in VOUCHABLE
        and row.amount_minor > 0
        and (row.receipt or (row.claimed or {}).get("callback", {}).get("receipt"))
    ):
        receipt = row.receipt or str(row.claimed["callback"]["receipt"])
        return Confirmed(
            amount_minor=row.amount_minor,
            currency=row.currency,
            receipt=receipt,
            phone=row.phone,
            phone_hint=str((row.claimed or {}).get("phone_hint") or "") or None,
            account_reference=row.account_reference,
        )
    return None


def record(
    session: Session, actor: Principal, company: Company, request_id: uuid.UUID
) -> PaymentRequest:
    """Credit a held payment: the amount the provider confirmed, or — for one
    we could not check — what the callback said, because a person vouches
    for it (their statement shows it). Audited either way."""
    row = _held(session, actor, request_id)
    confirmed = recordable(row)
    if confirmed is None:
        raise InvalidInput(
            "There is no confirmed amount to record for this one.",
            fix="Dismiss it, or import your M-Pesa statement to confirm it.",
        )
    before = {"reason": row.review_reason, "amount_minor": row.amount_minor}
    row.amount_minor, row.currency = confirmed.amount_minor, confirmed.currency
    row.phone = confirmed.phone or row.phone
    row.status = RequestStatus.CONFIRMING.value
    row.claimed = {**(row.claimed or {}), "phone_hint": None}
    outcome = settle(
        session, company, row, replace(confirmed, shortcode=None), via="manual"
    )
    if outcome is Outcome.QUARANTINED:
        raise Conflict("It still does not add up.", fix="Dismiss it instead.")
    audit.record(
        session,
        actor,
        "payment.record_held",
        f"Recorded {format_money(confirmed.amount_minor, confirmed.currency)} "
        f"(receipt {confirmed.receipt}) that had been held back.",
        target_type="payment_request",
        target_id=row.id,
        before=before,
        after={"amount_minor": confirmed.amount_minor, "receipt": confirmed.receipt},
    )
    return row
