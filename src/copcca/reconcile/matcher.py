"""Which open invoices a payment most likely pays, and why. Pure functions.

Evidence, strongest first: the account number the customer typed equals an
invoice's payment reference or number; the payer's phone is the invoice
customer's; the amount equals the balance; the invoice was issued within the
window before the payment. A plan allocates the payment across one invoice
(partial or exact) or several of the same customer's invoices, oldest
first (split); what is left over stays on the payment as credit.

Reasons are stable codes the UI puts into words (``reason_text``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from copcca.crm.invoices import normalise_reference

WINDOW = timedelta(days=120)

# Points per piece of evidence; a plan's confidence is their sum, 0..100.
POINTS = {
    "ref_payment_reference": 70,
    "ref_invoice_number": 65,
    "ref_close": 35,
    "phone_customer": 20,
    "only_open_invoice": 10,
    "amount_exact": 15,
    "amount_exact_split": 15,
    "date_window": 5,
    "date_before_issue": -25,
}
AMBIGUITY_MARGIN = 10  # the best plan must lead the next by this much to auto-apply


@dataclass(frozen=True)
class PaymentFacts:
    amount_minor: int
    currency: str
    received_at: datetime
    account_reference: str | None = None
    payer_phone: str | None = None  # E.164


@dataclass(frozen=True)
class InvoiceFacts:
    id: uuid.UUID
    number: str
    balance_minor: int
    currency: str
    issued_at: datetime
    payment_reference: str | None = None
    customer_id: uuid.UUID | None = None
    customer_phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    amount_minor: int


@dataclass(frozen=True)
class Plan:
    allocations: tuple[Allocation, ...]
    confidence: int
    reasons: tuple[str, ...]
    leftover_minor: int

    @property
    def invoice_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(a.invoice_id for a in self.allocations)


@dataclass
class _Evidence:
    codes: list[str] = field(default_factory=list)

    def add(self, code: str) -> None:
        if code not in self.codes:
            self.codes.append(code)

    @property
    def score(self) -> int:
        return max(0, min(100, sum(POINTS.get(c, 0) for c in self.codes)))


def _digits(text: str) -> str:
    return "".join(re.findall(r"\d+", text)).lstrip("0")


def reference_evidence(account_reference: str | None, invoice: InvoiceFacts) -> str:
    """The strongest reference code linking the typed account to the invoice."""
    typed = normalise_reference(account_reference)
    if not typed:
        return ""
    if invoice.payment_reference and typed == normalise_reference(
        invoice.payment_reference
    ):
        return "ref_payment_reference"
    if typed == normalise_reference(invoice.number):
        return "ref_invoice_number"
    typed_digits, number_digits = _digits(typed), _digits(invoice.number)
    if len(typed_digits) >= 2 and typed_digits == number_digits:
        return "ref_close"
    return ""


def _base_evidence(
    payment: PaymentFacts, invoice: InvoiceFacts, open_per_customer: dict[object, int]
) -> _Evidence:
    ev = _Evidence()
    ref = reference_evidence(payment.account_reference, invoice)
    if ref:
        ev.add(ref)
    if payment.payer_phone and payment.payer_phone in invoice.customer_phones:
        ev.add("phone_customer")
        if open_per_customer.get(invoice.customer_id, 0) == 1:
            ev.add("only_open_invoice")
    if payment.received_at < invoice.issued_at - timedelta(days=1):
        ev.add("date_before_issue")
    elif payment.received_at - invoice.issued_at <= WINDOW:
        ev.add("date_window")
    return ev


def _is_candidate(ev: _Evidence, payment: PaymentFacts, invoice: InvoiceFacts) -> bool:
    linked = any(c.startswith("ref_") or c == "phone_customer" for c in ev.codes)
    return linked or payment.amount_minor == invoice.balance_minor


def suggest(
    payment: PaymentFacts, invoices: list[InvoiceFacts], limit: int = 3
) -> list[Plan]:
    """The best ``limit`` plans, most confident first."""
    usable = [
        i for i in invoices if i.currency == payment.currency and i.balance_minor > 0
    ]
    open_per_customer: dict[object, int] = {}
    for inv in usable:
        open_per_customer[inv.customer_id] = (
            open_per_customer.get(inv.customer_id, 0) + 1
        )
    plans: dict[tuple[Allocation, ...], Plan] = {}
    for invoice in usable:
        ev = _base_evidence(payment, invoice, open_per_customer)
        if not _is_candidate(ev, payment, invoice):
            continue
        for plan in _plans_from(payment, invoice, ev, usable):
            known = plans.get(plan.allocations)
            if known is None or plan.confidence > known.confidence:
                plans[plan.allocations] = plan
    ranked = sorted(
        plans.values(),
        key=lambda p: (-p.confidence, p.leftover_minor, len(p.allocations)),
    )
    return ranked[:limit]


def _plans_from(
    payment: PaymentFacts,
    invoice: InvoiceFacts,
    ev: _Evidence,
    usable: list[InvoiceFacts],
) -> list[Plan]:
    amount = payment.amount_minor
    single = _Evidence(list(ev.codes))
    if amount == invoice.balance_minor:
        single.add("amount_exact")
    elif amount < invoice.balance_minor:
        single.add("amount_partial")
    else:
        single.add("amount_over")
    taken = min(amount, invoice.balance_minor)
    plans = [
        Plan(
            (Allocation(invoice.id, taken),),
            single.score,
            tuple(single.codes),
            amount - taken,
        )
    ]
    if amount > invoice.balance_minor and invoice.customer_id is not None:
        split = _split_plan(payment, invoice, ev, usable)
        if split is not None:
            plans.append(split)
    return plans


def _split_plan(
    payment: PaymentFacts,
    first: InvoiceFacts,
    ev: _Evidence,
    usable: list[InvoiceFacts],
) -> Plan | None:
    """Cover ``first`` in full, then the same customer's other open invoices,
    oldest first, until the money runs out."""
    others = sorted(
        (i for i in usable if i.customer_id == first.customer_id and i.id != first.id),
        key=lambda i: (i.issued_at, i.number),
    )
    if not others:
        return None
    remaining = payment.amount_minor
    allocations: list[Allocation] = []
    for inv in (first, *others):
        if remaining <= 0:
            break
        take = min(remaining, inv.balance_minor)
        allocations.append(Allocation(inv.id, take))
        remaining -= take
    split = _Evidence([c for c in ev.codes if c != "only_open_invoice"])
    split.add("split")
    chosen = {a.invoice_id for a in allocations}
    covered = sum(i.balance_minor for i in (first, *others) if i.id in chosen)
    if remaining == 0 and covered == payment.amount_minor:
        split.add("amount_exact_split")
    elif remaining > 0:
        split.add("amount_over")
    return Plan(tuple(allocations), split.score, tuple(split.codes), remaining)


def auto_apply(plans: list[Plan], threshold: int) -> Plan | None:
    """The plan to apply without asking, or None when a person should choose."""
    if not plans or plans[0].confidence < threshold:
        return None
    best = plans[0]
    # Plans starting on the same invoice only differ in where any extra money
    # goes; a rival is a plan that would pay a different invoice first.
    rivals = [p for p in plans[1:] if p.invoice_ids[0] != best.invoice_ids[0]]
    if rivals and best.confidence - rivals[0].confidence < AMBIGUITY_MARGIN:
        return None
    return best
