"""The matcher's evidence and plans: pure, no database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from copcca.reconcile.matcher import (
    Allocation,
    InvoiceFacts,
    PaymentFacts,
    auto_apply,
    reference_evidence,
    suggest,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WANJIKU = uuid.uuid4()
OTIENO = uuid.uuid4()


def invoice(
    number: str,
    balance: int,
    customer: uuid.UUID | None = WANJIKU,
    *,
    ref: str | None = None,
    phones: tuple[str, ...] = ("+254712345678",),
    days_ago: int = 10,
    currency: str = "KES",
) -> InvoiceFacts:
    return InvoiceFacts(
        id=uuid.uuid4(),
        number=number,
        balance_minor=balance,
        currency=currency,
        issued_at=NOW - timedelta(days=days_ago),
        payment_reference=ref or number.replace("-", ""),
        customer_id=customer,
        customer_phones=phones if customer else (),
    )


def pay(amount: int, ref: str | None = None, phone: str | None = None) -> PaymentFacts:
    return PaymentFacts(amount, "KES", NOW, account_reference=ref, payer_phone=phone)


def test_reference_evidence_ranks_payment_reference_then_number_then_digits() -> None:
    inv = invoice("INV-0042", 150_000, ref="K7QM3X")
    assert reference_evidence("k7qm3x", inv) == "ref_payment_reference"
    assert reference_evidence("inv 0042", inv) == "ref_invoice_number"
    assert reference_evidence("inv42", inv) == "ref_close"
    assert reference_evidence("INV-0043", inv) == ""
    assert reference_evidence("", inv) == ""


def test_exact_reference_and_amount_is_applied_automatically() -> None:
    target = invoice("INV-0042", 150_000)
    other = invoice("INV-0043", 150_000, OTIENO, phones=("+254700000001",))
    plans = suggest(pay(150_000, "INV0042"), [target, other])

    best = auto_apply(plans, threshold=70)

    assert best is not None
    assert best.allocations == (Allocation(target.id, 150_000),)
    assert set(best.reasons) >= {"ref_payment_reference", "amount_exact"}
    assert best.leftover_minor == 0


def test_phone_only_match_goes_to_review_with_reasons() -> None:
    target = invoice("INV-0042", 150_000)
    plans = suggest(pay(150_000, "wrong", "+254712345678"), [target])

    assert auto_apply(plans, threshold=70) is None
    assert plans[0].allocations == (Allocation(target.id, 150_000),)
    assert plans[0].reasons == (
        "phone_customer",
        "only_open_invoice",
        "date_window",
        "amount_exact",
    )
    assert plans[0].confidence == 50


def test_two_equal_invoices_are_never_guessed_between() -> None:
    a = invoice("INV-1", 50_000)
    b = invoice("INV-2", 50_000)
    plans = suggest(pay(50_000, None, "+254712345678"), [a, b])
    assert auto_apply(plans, threshold=1) is None
    assert {p.allocations[0].invoice_id for p in plans[:2]} == {a.id, b.id}


def test_partial_payment_allocates_what_was_paid() -> None:
    target = invoice("INV-0042", 150_000)
    plans = suggest(pay(50_000, "INV0042"), [target])
    assert plans[0].allocations == (Allocation(target.id, 50_000),)
    assert "amount_partial" in plans[0].reasons
    assert plans[0].leftover_minor == 0


def test_overpayment_spreads_to_same_customers_older_invoices_then_credit() -> None:
    newest = invoice("INV-3", 100_000, days_ago=1)
    oldest = invoice("INV-1", 30_000, days_ago=30)
    middle = invoice("INV-2", 20_000, days_ago=20)
    someone_else = invoice("INV-9", 20_000, OTIENO, phones=("+254700000001",))

    plans = suggest(pay(160_000, "INV3"), [newest, oldest, middle, someone_else])
    best = auto_apply(plans, threshold=70)

    assert best is not None
    assert best.allocations == (
        Allocation(newest.id, 100_000),
        Allocation(oldest.id, 30_000),
        Allocation(middle.id, 20_000),
    )
    assert best.leftover_minor == 10_000
    assert "split" in best.reasons


def test_split_payment_covering_two_invoices_exactly() -> None:
    first = invoice("INV-1", 30_000, days_ago=30)
    second = invoice("INV-2", 20_000, days_ago=20)
    plans = suggest(pay(50_000, "INV1"), [first, second])
    assert plans[0].allocations == (
        Allocation(first.id, 30_000),
        Allocation(second.id, 20_000),
    )
    assert "amount_exact_split" in plans[0].reasons
    assert plans[0].leftover_minor == 0


def test_other_currency_and_paid_invoices_are_never_candidates() -> None:
    usd = invoice("INV-1", 50_000, currency="USD")
    paid = invoice("INV-2", 0)
    assert suggest(pay(50_000, "INV1"), [usd, paid]) == []


def test_payment_before_the_invoice_was_issued_loses_confidence() -> None:
    future = invoice("INV-5", 50_000, days_ago=-10)
    plans = suggest(pay(50_000, "INV5"), [future])
    assert "date_before_issue" in plans[0].reasons
    assert auto_apply(plans, threshold=70) is None


def test_at_most_three_suggestions() -> None:
    many = [invoice(f"INV-{n}", 10_000, uuid.uuid4(), phones=()) for n in range(10)]
    assert len(suggest(pay(10_000), many)) == 3


@given(
    amount=st.integers(min_value=1, max_value=10**12),
    balances=st.lists(st.integers(min_value=0, max_value=10**12), max_size=6),
)
def test_a_plan_never_allocates_more_than_paid_or_owed(
    amount: int, balances: list[int]
) -> None:
    invoices = [invoice(f"INV-{n}", b) for n, b in enumerate(balances)]
    by_id = {i.id: i for i in invoices}
    for plan in suggest(pay(amount, None, "+254712345678"), invoices):
        allocated = sum(a.amount_minor for a in plan.allocations)
        assert allocated + plan.leftover_minor == amount
        assert all(
            0 < a.amount_minor <= by_id[a.invoice_id].balance_minor
            for a in plan.allocations
        )
        assert 0 <= plan.confidence <= 100
