"""Refunds: recorded once per provider refund id; the refunded amount comes
off the invoices the payment paid, newest allocation first."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from copcca import events
from copcca.crm.invoices import InvoiceRepository, apply_amount
from copcca.crm.money import format_money
from copcca.crm.payments import PaymentRepository, payment_data
from copcca.db.base import utcnow
from copcca.models.crm import PaymentAllocation, PaymentStatus
from copcca.models.integrations import SyncStatus
from copcca.models.payments import PaymentRefund
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.evidence import RefundEvidence


def apply_refund(
    session: Session,
    company: Company,
    integration_id: uuid.UUID | None,
    evidence: RefundEvidence,
) -> uuid.UUID | None:
    """Record a verified refund once; None if already recorded or unknown."""
    payment = PaymentRepository(session, company.id).by_reference(
        evidence.provider, evidence.payment_reference
    )
    if payment is None:
        logs.write(
            session,
            company.id,
            provider=evidence.provider,
            integration_id=integration_id,
            kind="callback",
            status=SyncStatus.SKIPPED,
            message=(
                f"A refund of {format_money(evidence.amount_minor, evidence.currency)} "
                "names a payment we never recorded; nothing to take back."
            ),
            skipped=1,
        )
        return None
    refund_id = _insert_once(session, company, payment.id, evidence)
    if refund_id is None:
        return None
    locked = PaymentRepository(session, company.id).locked(payment.id)
    assert locked is not None
    amount = min(evidence.amount_minor, locked.amount_minor - locked.refunded_minor)
    locked.refunded_minor += amount
    _take_back(session, locked, amount)
    if locked.refunded_minor >= locked.amount_minor:
        locked.status = PaymentStatus.REFUNDED.value
    events.emit(
        session,
        company.id,
        "payment.refunded",
        entity="payment",
        entity_id=locked.id,
        data={**payment_data(locked), "refunded_minor": amount},
    )
    logs.write(
        session,
        company.id,
        provider=evidence.provider,
        integration_id=integration_id,
        kind="payment",
        status=SyncStatus.SUCCESS,
        message=(
            f"Refunded {format_money(amount, locked.currency)} of the "
            f"{format_money(locked.amount_minor, locked.currency)} payment "
            f"{locked.provider_reference}."
        ),
        updated=1,
        details={"payment_id": str(locked.id), "refund_id": str(refund_id)},
    )
    return refund_id


def _insert_once(
    session: Session, company: Company, payment_id: uuid.UUID, ev: RefundEvidence
) -> uuid.UUID | None:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "company_id": company.id,
        "payment_id": payment_id,
        "provider": ev.provider,
        "provider_reference": ev.refund_id[:100],
        "amount_minor": ev.amount_minor,
        "currency": ev.currency.upper(),
        "refunded_at": ev.refunded_at or utcnow(),
        "raw": ev.raw,
    }
    table = PaymentRefund.__table__
    keys = ["company_id", "provider", "provider_reference"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(table)  # type: ignore[attr-defined]
        .values(values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(table.c.id)
    )
    found: uuid.UUID | None = session.execute(stmt).scalar()
    return found


def _take_back(session: Session, payment: Any, amount: int) -> None:
    """Reduce the payment's allocations, newest first, by ``amount``; money
    still unallocated on the payment goes first."""
    from_credit = min(amount, payment.unallocated_minor)
    payment.unallocated_minor -= from_credit
    remaining = amount - from_credit
    if remaining <= 0:
        return
    rows = list(
        session.scalars(
            select(PaymentAllocation)
            .where(
                PaymentAllocation.company_id == payment.company_id,
                PaymentAllocation.payment_id == payment.id,
                PaymentAllocation.status == "applied",
            )
            .order_by(PaymentAllocation.created_at.desc())
        )
    )
    invoices = {
        i.id: i
        for i in InvoiceRepository(session, payment.company_id).locked(
            [r.invoice_id for r in rows]
        )
    }
    for row in rows:
        if remaining <= 0:
            break
        take = min(remaining, row.amount_minor)
        row.amount_minor -= take
        if row.amount_minor == 0:
            row.status = "refunded"
        invoice = invoices.get(row.invoice_id)
        if invoice is not None:
            apply_amount(invoice, -take)
        remaining -= take
