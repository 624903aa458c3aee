"""The review queue: unsure payments wait with their top three candidates;
confirm, reassign, undo and keep-unmatched are one step each, audited, and
the customer's debt follows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from copcca.crm.invoices import customer_debt
from copcca.crm.payments import record_payment
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.errors import Conflict, PermissionDenied
from copcca.models.audit import AuditEntry
from copcca.models.crm import Invoice, Payment, PaymentStatus
from copcca.models.tenancy import Company, Role
from copcca.models.webhooks import Event
from copcca.reconcile import service
from copcca.runtime import Runtime
from tests.helpers import Tenant, add_member, make_company
from tests.payments.helpers import add_invoice, invoice


def _pay(
    runtime: Runtime,
    tenant: Tenant,
    amount: int,
    *,
    account: str | None = None,
    phone: str | None = "+254712345678",
) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        payment = record_payment(
            session,
            company,
            PaymentRecord(
                "mpesa",
                f"S{uuid.uuid4().hex[:9].upper()}",
                amount,
                "KES",
                utcnow(),
                payer_phone=phone,
                account_reference=account,
            ),
        ).payment
        service.reconcile(session, company, payment)
        return payment.id


def _payment(runtime: Runtime, tenant: Tenant, payment_id: uuid.UUID) -> Payment:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Payment, payment_id)
        assert row is not None
        return row


def _act(runtime: Runtime, tenant: Tenant, fn: object, *args: object) -> None:
    with runtime.db.transaction(tenant.company_id, user_id=tenant.user_id) as session:
        company = session.get(Company, tenant.company_id)
        fn(session, tenant.principal, company, *args)  # type: ignore[operator]


def _audit(runtime: Runtime, tenant: Tenant) -> list[tuple[str, str]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.created_at)).all()
        return [(r.action, r.summary) for r in rows if r.action.startswith("payment.")]


def test_unsure_payment_waits_with_candidates_then_confirm_pays_the_invoice(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    a = add_invoice(runtime, tenant, 100_000, number="INV-0001")
    b = add_invoice(runtime, tenant, 100_000, number="INV-0002")
    payment = _pay(runtime, tenant, 100_000)  # same phone, same amount: which one?

    assert _payment(runtime, tenant, payment).status == PaymentStatus.NEEDS_REVIEW
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        [item] = service.review_queue(session, tenant.company_id)
    assert {p.lines[0][0].id for p in item.plans[:2]} == {a, b}
    chosen = item.plans[1]

    _act(runtime, tenant, service.confirm, payment, chosen.rank)

    target = chosen.lines[0][0].id
    other = a if target == b else b
    assert invoice(runtime, tenant, target).paid_minor == 100_000
    assert invoice(runtime, tenant, other).paid_minor == 0
    assert _payment(runtime, tenant, payment).status == PaymentStatus.MATCHED
    [(action, summary)] = _audit(runtime, tenant)
    assert action == "payment.confirm"
    assert summary.startswith("Confirmed: KSh 1,000 from 0712 345678 matched to INV-")


def test_undo_then_reassign_moves_the_money_and_the_debt(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    a = add_invoice(runtime, tenant, 100_000, number="INV-0001")
    b = add_invoice(
        runtime,
        tenant,
        100_000,
        customer="Otieno",
        phone="0722000000",
        number="INV-0002",
    )
    payment = _pay(runtime, tenant, 100_000, account="INV0001")
    assert invoice(runtime, tenant, a).paid_minor == 100_000  # applied automatically
    customer = invoice(runtime, tenant, a).customer_id
    assert customer is not None

    _act(runtime, tenant, service.undo, payment)
    assert invoice(runtime, tenant, a).paid_minor == 0
    assert _payment(runtime, tenant, payment).status == PaymentStatus.NEEDS_REVIEW
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert customer_debt(session, tenant.company_id, customer) == {"KES": 100_000}

    _act(runtime, tenant, service.reassign, payment, b)
    assert invoice(runtime, tenant, b).paid_minor == 100_000
    assert invoice(runtime, tenant, a).paid_minor == 0
    assert [a for a, _ in _audit(runtime, tenant)] == [
        "payment.undo",
        "payment.reassign",
    ]
    with pytest.raises(Conflict):
        _act(runtime, tenant, service.confirm, payment, 1)  # not waiting any more


def test_keep_unmatched_stops_asking(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    payment = _pay(runtime, tenant, 12_300, account="CASH SALE")
    assert _payment(runtime, tenant, payment).status == PaymentStatus.NEEDS_REVIEW
    _act(runtime, tenant, service.keep_unmatched, payment)
    assert _payment(runtime, tenant, payment).status == PaymentStatus.RECEIVED
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert service.review_queue(session, tenant.company_id) == []


def test_members_cannot_decide_matches(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    member = add_member(runtime, tenant, Role.MEMBER)
    payment = _pay(runtime, tenant, 5_000, account="X")
    with pytest.raises(PermissionDenied):
        _act(runtime, member, service.keep_unmatched, payment)
    assert _payment(runtime, tenant, payment).status == PaymentStatus.NEEDS_REVIEW


def test_threshold_is_the_owners_choice(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    add_invoice(runtime, tenant, 100_000, number="INV-0001")
    with runtime.db.transaction(tenant.company_id, user_id=tenant.user_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        service.set_threshold(session, tenant.principal, company, 101)  # always ask
    payment = _pay(runtime, tenant, 100_000, account="INV0001")
    assert _payment(runtime, tenant, payment).status == PaymentStatus.NEEDS_REVIEW


def test_partial_payments_add_up_and_overpayment_stays_as_credit(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    inv = add_invoice(runtime, tenant, 100_000, number="INV-0001")
    _pay(runtime, tenant, 40_000, account="INV0001")
    assert invoice(runtime, tenant, inv).status == "partially_paid"
    last = _pay(runtime, tenant, 80_000, account="INV0001")
    assert invoice(runtime, tenant, inv).paid_minor == 100_000
    assert invoice(runtime, tenant, inv).status == "paid"
    assert _payment(runtime, tenant, last).unallocated_minor == 20_000
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        paid = session.scalars(select(Event).where(Event.type == "invoice.paid")).all()
        assert len(paid) == 1
        assert (
            session.scalar(select(Invoice.paid_minor).where(Invoice.id == inv))
            == 100_000
        )
