"""Payments: money a provider confirmed. Recorded exactly once per
``(company, provider, provider_reference)`` however many times and by
however many routes it arrives (promises P1, P2), with its
``payment.received`` event in the same transaction (P7)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from copcca import events
from copcca.crm.ingest import Ingestor, Outcome, Upserted, register_upserter
from copcca.crm.phones import normalise_phone
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.errors import InvalidInput
from copcca.models.crm import Payment, PaymentStatus
from copcca.models.tenancy import Company


class PaymentRepository(TenantRepository[Payment]):
    model = Payment
    noun = "payment"

    def by_reference(self, provider: str, reference: str) -> Payment | None:
        row: Payment | None = self.session.scalars(
            self.select().where(
                Payment.provider == provider, Payment.provider_reference == reference
            )
        ).first()
        return row

    def locked(self, payment_id: uuid.UUID) -> Payment | None:
        """The row, locked until commit (confirm/undo clicks race otherwise)."""
        row: Payment | None = self.session.scalars(
            self.select().where(Payment.id == payment_id).with_for_update()
        ).first()
        return row

    def listing(
        self, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[Payment]:
        stmt = self.select()
        if status:
            stmt = stmt.where(Payment.status == status)
        stmt = stmt.order_by(Payment.received_at.desc(), Payment.id)
        return self.all(stmt.limit(limit).offset(offset))

    def needing_review(self, limit: int = 100) -> Sequence[Payment]:
        return self.listing(PaymentStatus.NEEDS_REVIEW.value, limit=limit)

    def count_needing_review(self) -> int:
        return self.count(
            self.select().where(Payment.status == PaymentStatus.NEEDS_REVIEW.value)
        )


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    created: bool


def record_payment(
    session: Session,
    company: Company,
    record: PaymentRecord,
    integration_id: uuid.UUID | None = None,
) -> Recorded:
    """Insert the payment unless its (provider, reference) is already there.

    ``INSERT .. ON CONFLICT DO NOTHING`` lets the database decide between
    concurrent arrivals, so exactly one caller sees ``created=True`` and
    emits ``payment.received``; the others get the existing row.
    """
    if record.amount_minor <= 0:
        raise InvalidInput("A payment amount must be above zero.", field="amount")
    reference = record.provider_reference.strip()
    if not reference:
        raise InvalidInput("A payment needs the provider's reference.")
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "company_id": company.id,
        "provider": record.provider,
        "method": record.method,
        "provider_reference": reference[:100],
        "integration_id": integration_id,
        "amount_minor": record.amount_minor,
        "currency": record.currency.upper(),
        "payer_phone": normalise_phone(record.payer_phone, company.country),
        "payer_name": (record.payer_name or "").strip()[:200] or None,
        "account_reference": (record.account_reference or "").strip()[:100] or None,
        "received_at": record.received_at,
        "status": PaymentStatus.RECEIVED.value,
        "unallocated_minor": record.amount_minor,
        "refunded_minor": 0,
        "raw": record.raw,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    stmt = _insert_ignoring_duplicates(session, values)
    new_id = session.execute(stmt).scalar()
    repo = PaymentRepository(session, company.id)
    if new_id is None:
        existing = repo.by_reference(record.provider, values["provider_reference"])
        assert existing is not None  # the conflict row is committed or ours
        return Recorded(existing, created=False)
    payment = repo.get_or_404(new_id)
    events.emit(
        session,
        company.id,
        "payment.received",
        entity="payment",
        entity_id=payment.id,
        data=payment_data(payment),
    )
    return Recorded(payment, created=True)


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> Any:
    dialect = session.get_bind().dialect.name
    table = Payment.__table__
    assert isinstance(table, Table)
    keys = ["company_id", "provider", "provider_reference"]
    if dialect == "postgresql":
        return (
            postgresql.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=keys)
            .returning(table.c.id)
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=keys)
            .returning(table.c.id)
        )
    return insert(table).values(values).returning(table.c.id)


def payment_data(payment: Payment) -> dict[str, Any]:
    """What an event says about a payment."""
    return {
        "id": str(payment.id),
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "account_reference": payment.account_reference,
        "received_at": payment.received_at.isoformat(),
        "status": payment.status,
    }


def upsert_payment(ingest: Ingestor, record: PaymentRecord) -> Upserted:
    """Ingest entry point (imports, syncs): record once, then match it."""
    from copcca.reconcile.service import reconcile

    result = record_payment(
        ingest.session, ingest.company, record, ingest.integration_id
    )
    if not result.created:
        return Upserted(result.payment.id, Outcome.UNCHANGED)
    reconcile(ingest.session, ingest.company, result.payment)
    return Upserted(result.payment.id, Outcome.CREATED)


def payments_for_invoice(
    session: Session, company_id: uuid.UUID, invoice_id: uuid.UUID
) -> list[tuple[Payment, int]]:
    """(payment, amount applied) for each payment applied to an invoice."""
    from copcca.models.crm import PaymentAllocation

    stmt = (
        select(Payment, PaymentAllocation.amount_minor)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .where(
            Payment.company_id == company_id,
            PaymentAllocation.invoice_id == invoice_id,
            PaymentAllocation.status == "applied",
        )
        .order_by(Payment.received_at)
    )
    return [(p, int(a)) for p, a in session.execute(stmt).all()]


register_upserter(PaymentRecord, upsert_payment)
