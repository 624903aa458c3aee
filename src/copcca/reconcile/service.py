"""Apply matches, queue the unsure ones, and let a person confirm, reassign
or undo each in one step. Every decision by a person goes to the audit log;
every applied match writes ``payment.matched`` (and ``invoice.paid`` for an
invoice it settles) in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from copcca import events
from copcca.crm.invoices import (
    InvoiceRepository,
    apply_amount,
    balance_of,
    invoice_data,
)
from copcca.crm.money import format_money
from copcca.crm.payments import PaymentRepository, payment_data
from copcca.crm.phones import display_phone
from copcca.errors import Conflict, InvalidInput, NotFound
from copcca.models.crm import (
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentStatus,
)
from copcca.models.tenancy import Company
from copcca.reconcile.matcher import (
    Allocation,
    InvoiceFacts,
    PaymentFacts,
    Plan,
    auto_apply,
    suggest,
)
from copcca.security import audit
from copcca.security.principal import Principal

THRESHOLD_SETTING = "payments_auto_match_threshold"
DEFAULT_THRESHOLD = 70
APPLIED, SUGGESTED, UNDONE = "applied", "suggested", "undone"


def threshold_of(company: Company) -> int:
    """The owner's auto-match threshold (confidence 0..100)."""
    value = (company.settings or {}).get(THRESHOLD_SETTING, DEFAULT_THRESHOLD)
    try:
        return max(1, min(101, int(value)))
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD


def set_threshold(
    session: Session, actor: Principal, company: Company, value: int
) -> None:
    """Change the threshold; 101 means "never match automatically"."""
    actor.require_admin("change how payments are matched")
    if not 50 <= value <= 101:
        raise InvalidInput(
            "Choose a confidence between 50 and 100, or 101 to always ask.",
            field="threshold",
        )
    before = threshold_of(company)
    company.settings = {**(company.settings or {}), THRESHOLD_SETTING: value}
    audit.record(
        session,
        actor,
        "payments.threshold",
        f"Payments are now matched automatically from {value}% confidence.",
        target_type="company",
        target_id=company.id,
        before={"threshold": before},
        after={"threshold": value},
    )


# ---------------------------------------------------------------- matching
def reconcile(
    session: Session,
    company: Company,
    payment: Payment,
    *,
    requested_invoice_id: uuid.UUID | None = None,
) -> Payment:
    """Match a newly recorded payment, or queue it for review.

    A payment we requested for an invoice (STK push) goes to that invoice;
    otherwise the best plan is applied when it clears the company threshold
    and no rival is close, else the top three wait in the review queue.
    """
    if payment.status != PaymentStatus.RECEIVED.value or _applied_rows(
        session, payment
    ):
        return payment
    if requested_invoice_id is not None:
        plan = _requested_plan(session, payment, requested_invoice_id)
        if plan is not None:
            _apply(session, payment, plan, decided_by=None, rank=1)
            return payment
    plans = suggest(_payment_facts(payment), _open_invoice_facts(session, payment))
    _clear_suggestions(session, payment)
    best = auto_apply(plans, threshold_of(company))
    if best is not None:
        _apply(session, payment, best, decided_by=None, rank=1)
    else:
        _queue(session, payment, plans)
    return payment


def _requested_plan(
    session: Session, payment: Payment, invoice_id: uuid.UUID
) -> Plan | None:
    invoice = InvoiceRepository(session, payment.company_id).get(invoice_id)
    if (
        invoice is None
        or invoice.currency != payment.currency
        or invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID)
    ):
        return None
    take = min(payment.amount_minor, balance_of(invoice))
    return Plan(
        (Allocation(invoice.id, take),),
        100,
        ("requested",),
        payment.amount_minor - take,
    )


def _payment_facts(payment: Payment) -> PaymentFacts:
    return PaymentFacts(
        amount_minor=payment.unallocated_minor,
        currency=payment.currency,
        received_at=payment.received_at,
        account_reference=payment.account_reference,
        payer_phone=payment.payer_phone,
    )


def _open_invoice_facts(session: Session, payment: Payment) -> list[InvoiceFacts]:
    invoices = InvoiceRepository(session, payment.company_id).open_invoices(
        payment.currency
    )
    customer_ids = {i.customer_id for i in invoices if i.customer_id}
    phones: dict[uuid.UUID, tuple[str, ...]] = {}
    if customer_ids:
        rows = session.scalars(
            select(Customer).where(
                Customer.company_id == payment.company_id,
                Customer.id.in_(list(customer_ids)),
            )
        )
        for c in rows:
            phones[c.id] = tuple(p for p in [c.phone, *(c.phones or [])] if p)
    return [
        InvoiceFacts(
            id=i.id,
            number=i.number,
            balance_minor=balance_of(i),
            currency=i.currency,
            issued_at=i.issued_at,
            payment_reference=i.payment_reference,
            customer_id=i.customer_id,
            customer_phones=phones.get(i.customer_id, ()) if i.customer_id else (),
        )
        for i in invoices
    ]


def _applied_rows(session: Session, payment: Payment) -> list[PaymentAllocation]:
    return _rows(session, payment, APPLIED)


def _rows(session: Session, payment: Payment, status: str) -> list[PaymentAllocation]:
    stmt = (
        select(PaymentAllocation)
        .where(
            PaymentAllocation.company_id == payment.company_id,
            PaymentAllocation.payment_id == payment.id,
            PaymentAllocation.status == status,
        )
        .order_by(PaymentAllocation.rank, PaymentAllocation.created_at)
    )
    return list(session.scalars(stmt))


def _clear_suggestions(session: Session, payment: Payment) -> None:
    session.execute(
        delete(PaymentAllocation).where(
            PaymentAllocation.company_id == payment.company_id,
            PaymentAllocation.payment_id == payment.id,
            PaymentAllocation.status == SUGGESTED,
        )
    )


def _queue(session: Session, payment: Payment, plans: list[Plan]) -> None:
    for rank, plan in enumerate(plans, start=1):
        for alloc in plan.allocations:
            session.add(
                PaymentAllocation(
                    company_id=payment.company_id,
                    payment_id=payment.id,
                    invoice_id=alloc.invoice_id,
                    amount_minor=alloc.amount_minor,
                    confidence=plan.confidence,
                    reasons=list(plan.reasons),
                    status=SUGGESTED,
                    rank=rank,
                )
            )
    payment.status = PaymentStatus.NEEDS_REVIEW.value
    events.emit(
        session,
        payment.company_id,
        "payment.needs_review",
        entity="payment",
        entity_id=payment.id,
        data={**payment_data(payment), "candidates": len(plans)},
    )


def _apply(
    session: Session,
    payment: Payment,
    plan: Plan,
    *,
    decided_by: uuid.UUID | None,
    rank: int | None,
) -> list[tuple[Invoice, int]]:
    """Allocate under row locks; amounts are re-capped to today's balances."""
    invoices = {
        i.id: i
        for i in InvoiceRepository(session, payment.company_id).locked(plan.invoice_ids)
    }
    applied: list[tuple[Invoice, int]] = []
    available = payment.unallocated_minor
    for alloc in plan.allocations:
        invoice = invoices.get(alloc.invoice_id)
        if invoice is None or invoice.currency != payment.currency:
            continue
        amount = min(alloc.amount_minor, balance_of(invoice), available)
        if amount <= 0 or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            continue
        session.add(
            PaymentAllocation(
                company_id=payment.company_id,
                payment_id=payment.id,
                invoice_id=invoice.id,
                amount_minor=amount,
                confidence=plan.confidence,
                reasons=list(plan.reasons),
                status=APPLIED,
                rank=rank,
                decided_by=decided_by,
            )
        )
        became_paid = apply_amount(invoice, amount)
        available -= amount
        applied.append((invoice, amount))
        if became_paid:
            events.emit(
                session,
                payment.company_id,
                "invoice.paid",
                entity="invoice",
                entity_id=invoice.id,
                data=invoice_data(invoice),
            )
    if not applied:
        raise Conflict(
            "Those invoices are already paid or closed.",
            fix="Pick another invoice, or keep the payment unmatched.",
        )
    _clear_suggestions(session, payment)
    payment.unallocated_minor = available
    payment.status = PaymentStatus.MATCHED.value
    payment.customer_id = applied[0][0].customer_id or payment.customer_id
    events.emit(
        session,
        payment.company_id,
        "payment.matched",
        entity="payment",
        entity_id=payment.id,
        data={
            **payment_data(payment),
            "confidence": plan.confidence,
            "reasons": list(plan.reasons),
            "decided_by": str(decided_by) if decided_by else None,
            "invoices": [
                {"id": str(i.id), "number": i.number, "amount_minor": a}
                for i, a in applied
            ],
        },
    )
    return applied


# ---------------------------------------------------------------- decisions
def _locked_payment(
    session: Session, actor: Principal, payment_id: uuid.UUID
) -> Payment:
    actor.require_admin("match payments")
    payment = PaymentRepository(session, actor.company_id).locked(payment_id)
    if payment is None:
        raise NotFound("No such payment.", fix="Check the link or id.")
    return payment


def _describe(
    session: Session, payment: Payment, applied: list[tuple[Invoice, int]], region: str
) -> str:
    where = ", ".join(f"{i.number} ({format_money(a, i.currency)})" for i, a in applied)
    who = display_phone(payment.payer_phone, region) or payment.payer_name or ""
    source = f" from {who}" if who else ""
    return f"{format_money(payment.amount_minor, payment.currency)}{source} matched to {where}."


def confirm(
    session: Session,
    actor: Principal,
    company: Company,
    payment_id: uuid.UUID,
    rank: int,
) -> Payment:
    """Apply the suggestion ranked ``rank`` (1 = best) for a queued payment."""
    payment = _locked_payment(session, actor, payment_id)
    if payment.status != PaymentStatus.NEEDS_REVIEW.value:
        raise Conflict(
            "This payment is no longer waiting for review.",
            fix="Reload the page to see what happened to it.",
        )
    rows = [r for r in _rows(session, payment, SUGGESTED) if r.rank == rank]
    if not rows:
        raise NotFound("That suggestion no longer exists.", fix="Reload the page.")
    plan = Plan(
        tuple(Allocation(r.invoice_id, r.amount_minor) for r in rows),
        rows[0].confidence,
        tuple(rows[0].reasons),
        0,
    )
    applied = _apply(session, payment, plan, decided_by=actor.user_id, rank=rank)
    audit.record(
        session,
        actor,
        "payment.confirm",
        "Confirmed: " + _describe(session, payment, applied, company.country),
        target_type="payment",
        target_id=payment.id,
        after=_audit_view(payment, applied),
    )
    return payment


def reassign(
    session: Session,
    actor: Principal,
    company: Company,
    payment_id: uuid.UUID,
    invoice_id: uuid.UUID,
) -> Payment:
    """Put the payment on the invoice a person picked (undoing any match)."""
    payment = _locked_payment(session, actor, payment_id)
    if payment.status == PaymentStatus.REFUNDED.value:
        raise Conflict("This payment was refunded.", fix="Nothing to match.")
    invoice = InvoiceRepository(session, actor.company_id).get(invoice_id)
    if invoice is None:
        raise NotFound("No such invoice.", fix="Pick an invoice from the list.")
    if invoice.currency != payment.currency:
        raise InvalidInput(
            f"Invoice {invoice.number} is in {invoice.currency}, the payment in "
            f"{payment.currency}.",
            fix="Pick an invoice in the same currency.",
        )
    before = _audit_view(payment, _applied_pairs(session, payment))
    _reverse(session, payment)
    plan = Plan(
        (Allocation(invoice.id, payment.unallocated_minor),),
        100,
        ("manual",),
        0,
    )
    applied = _apply(session, payment, plan, decided_by=actor.user_id, rank=None)
    audit.record(
        session,
        actor,
        "payment.reassign",
        "Reassigned: " + _describe(session, payment, applied, company.country),
        target_type="payment",
        target_id=payment.id,
        before=before,
        after=_audit_view(payment, applied),
    )
    return payment


def undo(
    session: Session, actor: Principal, company: Company, payment_id: uuid.UUID
) -> Payment:
    """Take a match back: invoices owe again, the payment returns to review."""
    payment = _locked_payment(session, actor, payment_id)
    pairs = _applied_pairs(session, payment)
    if not pairs:
        raise Conflict(
            "This payment is not matched to any invoice.", fix="Nothing to undo."
        )
    before = _audit_view(payment, pairs)
    _reverse(session, payment)
    plans = suggest(_payment_facts(payment), _open_invoice_facts(session, payment))
    _clear_suggestions(session, payment)
    _queue(session, payment, plans)
    audit.record(
        session,
        actor,
        "payment.undo",
        "Undid the match of "
        + f"{format_money(payment.amount_minor, payment.currency)} to "
        + ", ".join(i.number for i, _ in pairs)
        + ".",
        target_type="payment",
        target_id=payment.id,
        before=before,
        after={"status": payment.status},
    )
    return payment


def keep_unmatched(
    session: Session, actor: Principal, company: Company, payment_id: uuid.UUID
) -> Payment:
    """A payment that pays no invoice (a cash sale, a deposit): stop asking."""
    payment = _locked_payment(session, actor, payment_id)
    if payment.status != PaymentStatus.NEEDS_REVIEW.value:
        raise Conflict(
            "This payment is not waiting for review.", fix="Reload the page."
        )
    _clear_suggestions(session, payment)
    payment.status = PaymentStatus.RECEIVED.value
    audit.record(
        session,
        actor,
        "payment.keep_unmatched",
        f"Kept {format_money(payment.amount_minor, payment.currency)} "
        "as a payment without an invoice.",
        target_type="payment",
        target_id=payment.id,
    )
    return payment


def _applied_pairs(session: Session, payment: Payment) -> list[tuple[Invoice, int]]:
    rows = _applied_rows(session, payment)
    if not rows:
        return []
    invoices = {
        i.id: i
        for i in InvoiceRepository(session, payment.company_id).locked(
            [r.invoice_id for r in rows]
        )
    }
    return [
        (invoices[r.invoice_id], r.amount_minor)
        for r in rows
        if r.invoice_id in invoices
    ]


def _reverse(session: Session, payment: Payment) -> None:
    rows = _applied_rows(session, payment)
    invoices = {
        i.id: i
        for i in InvoiceRepository(session, payment.company_id).locked(
            [r.invoice_id for r in rows]
        )
    }
    for row in rows:
        invoice = invoices.get(row.invoice_id)
        if invoice is not None:
            apply_amount(invoice, -row.amount_minor)
        row.status = UNDONE
        payment.unallocated_minor += row.amount_minor
    payment.status = PaymentStatus.RECEIVED.value


def _audit_view(payment: Payment, pairs: list[tuple[Invoice, int]]) -> dict[str, Any]:
    return {
        "status": payment.status,
        "invoices": {i.number: a for i, a in pairs},
        "unallocated_minor": payment.unallocated_minor,
    }


# ---------------------------------------------------------------- queue view
@dataclass
class SuggestedPlan:
    rank: int
    confidence: int
    reasons: list[str]
    lines: list[tuple[Invoice, int]] = field(default_factory=list)


@dataclass
class ReviewItem:
    payment: Payment
    plans: list[SuggestedPlan]
    customer: Customer | None = None


def review_queue(
    session: Session, company_id: uuid.UUID, limit: int = 50
) -> list[ReviewItem]:
    """Payments waiting for a person, each with its ranked suggestions."""
    payments = PaymentRepository(session, company_id).needing_review(limit)
    if not payments:
        return []
    rows = list(
        session.scalars(
            select(PaymentAllocation).where(
                PaymentAllocation.company_id == company_id,
                PaymentAllocation.payment_id.in_([p.id for p in payments]),
                PaymentAllocation.status == SUGGESTED,
            )
        )
    )
    invoices = {
        i.id: i
        for i in session.scalars(
            select(Invoice).where(
                Invoice.company_id == company_id,
                Invoice.id.in_({r.invoice_id for r in rows}),
            )
        )
    }
    items = []
    for payment in payments:
        plans: dict[int, SuggestedPlan] = {}
        for row in rows:
            if row.payment_id != payment.id or row.invoice_id not in invoices:
                continue
            rank = row.rank or 0
            plan = plans.setdefault(
                rank, SuggestedPlan(rank, row.confidence, list(row.reasons))
            )
            plan.lines.append((invoices[row.invoice_id], row.amount_minor))
        items.append(ReviewItem(payment, [plans[k] for k in sorted(plans)]))
    return items


def applied_to(session: Session, payment: Payment) -> list[tuple[Invoice, int]]:
    """The invoices a payment is applied to, with amounts (read-only)."""
    rows = _applied_rows(session, payment)
    if not rows:
        return []
    invoices = {
        i.id: i
        for i in session.scalars(
            select(Invoice).where(
                Invoice.company_id == payment.company_id,
                Invoice.id.in_([r.invoice_id for r in rows]),
            )
        )
    }
    return [
        (invoices[r.invoice_id], r.amount_minor)
        for r in rows
        if r.invoice_id in invoices
    ]
