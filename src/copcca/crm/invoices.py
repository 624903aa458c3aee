"""Invoices: what customers owe, the short payment reference they can type as
their M-Pesa account number, and the balance that payments bring down."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copcca import events
from copcca.crm.ingest import Ingestor, Outcome, Upserted, register_upserter
from copcca.crm.records import CustomerRecord, InvoiceRecord
from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.errors import InvalidInput
from copcca.models.crm import Customer, Invoice, InvoiceStatus, PaymentAllocation
from copcca.models.tenancy import Company
from copcca.security import audit
from copcca.security.principal import Principal

OPEN_STATUSES = (InvoiceStatus.OPEN.value, InvoiceStatus.PARTIALLY_PAID.value)
# Letters and digits nobody misreads on a phone keypad (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_REFERENCE = 12  # Daraja AccountReference is at most 12 characters


def normalise_reference(text: str | None) -> str:
    """Upper-case letters and digits only: ``inv-0042 `` → ``INV0042``."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def balance_of(invoice: Invoice) -> int:
    return max(0, invoice.total_minor - invoice.paid_minor)


def status_for(total_minor: int, paid_minor: int, current: str) -> str:
    """Open, partly paid or paid from the amounts; draft and void stay put."""
    if current in (InvoiceStatus.DRAFT.value, InvoiceStatus.VOID.value):
        return current
    if paid_minor <= 0:
        return InvoiceStatus.OPEN.value
    if paid_minor >= total_minor:
        return InvoiceStatus.PAID.value
    return InvoiceStatus.PARTIALLY_PAID.value


class InvoiceRepository(TenantRepository[Invoice]):
    model = Invoice
    noun = "invoice"

    def by_number(self, number: str) -> Invoice | None:
        row: Invoice | None = self.session.scalars(
            self.select().where(Invoice.number == number)
        ).first()
        return row

    def by_payment_reference(self, reference: str) -> Invoice | None:
        row: Invoice | None = self.session.scalars(
            self.select().where(Invoice.payment_reference == reference)
        ).first()
        return row

    def open_invoices(
        self, currency: str | None = None, limit: int = 5000
    ) -> Sequence[Invoice]:
        stmt = self.select().where(Invoice.status.in_(OPEN_STATUSES))
        if currency:
            stmt = stmt.where(Invoice.currency == currency)
        return self.all(stmt.order_by(Invoice.issued_at, Invoice.number).limit(limit))

    def locked(self, ids: Sequence[uuid.UUID]) -> list[Invoice]:
        """Rows locked until commit, so two payments never race on a balance."""
        stmt = (
            self.select()
            .where(Invoice.id.in_(list(ids)))
            .order_by(Invoice.id)
            .with_for_update()
        )
        return list(self.session.scalars(stmt))

    def listing(
        self, status: str | None = None, limit: int = 200, offset: int = 0
    ) -> Sequence[Invoice]:
        stmt = self.select()
        if status == "open":
            stmt = stmt.where(Invoice.status.in_(OPEN_STATUSES))
        elif status:
            stmt = stmt.where(Invoice.status == status)
        stmt = stmt.order_by(Invoice.issued_at.desc(), Invoice.number.desc())
        return self.all(stmt.limit(limit).offset(offset))

    def next_number(self, prefix: str = "INV-") -> str:
        count = self.count()
        for n in range(count + 1, count + 1000):
            candidate = f"{prefix}{n:04d}"
            if self.by_number(candidate) is None:
                return candidate
        return f"{prefix}{secrets.token_hex(3).upper()}"


def payment_reference_for(repo: InvoiceRepository, number: str) -> str:
    """The invoice number itself when it is short enough and free
    (``INV-0042`` → ``INV0042``), otherwise a random 6-character code."""
    wanted = normalise_reference(number)
    if 3 <= len(wanted) <= MAX_REFERENCE and repo.by_payment_reference(wanted) is None:
        return wanted
    while True:
        code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if repo.by_payment_reference(code) is None:
            return code


def apply_amount(invoice: Invoice, delta_minor: int) -> bool:
    """Add (or, to undo, subtract) a paid amount. True if it became paid."""
    was_paid = invoice.status == InvoiceStatus.PAID.value
    invoice.paid_minor = max(0, invoice.paid_minor + delta_minor)
    invoice.status = status_for(invoice.total_minor, invoice.paid_minor, invoice.status)
    return not was_paid and invoice.status == InvoiceStatus.PAID.value


def upsert_invoice(ingest: Ingestor, record: InvoiceRecord) -> Upserted:
    """Create or update an invoice by external id, then number."""
    repo = InvoiceRepository(ingest.session, ingest.company.id)
    existing: Invoice | None = None
    if record.external_id and ingest.integration_id:
        link = ingest.external.find(
            ingest.integration_id, "invoice", record.external_id
        )
        if link is not None:
            existing = repo.get(link.entity_id)
    number = record.number.strip()[:64]
    if not number:
        raise InvalidInput("An invoice needs a number.", field="number")
    if existing is None:
        existing = repo.by_number(number)
    customer_id = None
    if record.customer is not None:
        customer_id = ingest.upsert_customer(record.customer).id
    if existing is None:
        invoice = _create(ingest, repo, record, number, customer_id)
        outcome = Outcome.CREATED
    else:
        invoice = existing
        outcome = _update(ingest.session, invoice, record, customer_id)
    if record.external_id and ingest.integration_id:
        ingest.external.link(
            ingest.integration_id,
            "invoice",
            record.external_id,
            invoice.id,
            record.updated_at,
        )
    return Upserted(invoice.id, outcome)


def _create(
    ingest: Ingestor,
    repo: InvoiceRepository,
    record: InvoiceRecord,
    number: str,
    customer_id: uuid.UUID | None,
) -> Invoice:
    if record.total_minor < 0:
        raise InvalidInput("An invoice total cannot be negative.", field="total")
    reference = normalise_reference(record.payment_reference)[:MAX_REFERENCE]
    if not reference or repo.by_payment_reference(reference) is not None:
        reference = payment_reference_for(repo, number)
    paid = max(0, record.paid_minor or 0)
    invoice = repo.add(
        Invoice(
            id=uuid.uuid4(),
            number=number,
            payment_reference=reference,
            customer_id=customer_id,
            issued_at=record.issued_at or utcnow(),
            due_at=record.due_at,
            currency=(record.currency or ingest.company.currency).upper(),
            total_minor=record.total_minor,
            paid_minor=paid,
            status=status_for(record.total_minor, paid, record.status or "open"),
            notes=record.notes,
            source=ingest.source,
        )
    )
    ingest.session.flush()
    events.emit(
        ingest.session,
        ingest.company.id,
        "invoice.created",
        entity="invoice",
        entity_id=invoice.id,
        data=invoice_data(invoice),
    )
    return invoice


def _update(
    session: Session,
    invoice: Invoice,
    record: InvoiceRecord,
    customer_id: uuid.UUID | None,
) -> Outcome:
    values: dict[str, Any] = {
        "total_minor": record.total_minor,
        "due_at": record.due_at,
        "notes": record.notes,
        "customer_id": customer_id,
    }
    if record.status == InvoiceStatus.VOID.value:
        values["status"] = InvoiceStatus.VOID.value
    # Payments matched here own the paid amount; the source only sets it
    # while nothing has been allocated yet.
    if record.paid_minor is not None and not _has_allocations(session, invoice):
        values["paid_minor"] = max(0, record.paid_minor)
    changed = False
    for key, value in values.items():
        if value is not None and getattr(invoice, key) != value:
            setattr(invoice, key, value)
            changed = True
    new_status = status_for(invoice.total_minor, invoice.paid_minor, invoice.status)
    if new_status != invoice.status:
        invoice.status, changed = new_status, True
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def _has_allocations(session: Session, invoice: Invoice) -> bool:
    stmt = select(func.count()).where(
        PaymentAllocation.company_id == invoice.company_id,
        PaymentAllocation.invoice_id == invoice.id,
        PaymentAllocation.status == "applied",
    )
    return bool(session.scalar(stmt))


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    """What an event says about an invoice (no customer details)."""
    return {
        "id": str(invoice.id),
        "number": invoice.number,
        "payment_reference": invoice.payment_reference,
        "currency": invoice.currency,
        "total_minor": invoice.total_minor,
        "paid_minor": invoice.paid_minor,
        "status": invoice.status,
    }


@dataclass(frozen=True)
class NewInvoice:
    customer_name: str
    amount_minor: int
    customer_phone: str | None = None
    currency: str | None = None
    number: str | None = None
    due_at: datetime | None = None
    notes: str | None = None


def create_invoice(
    session: Session, actor: Principal, company: Company, new: NewInvoice
) -> Invoice:
    """Raise an invoice by hand (the UI's and the API's "New invoice")."""
    if new.amount_minor <= 0:
        raise InvalidInput("Enter an amount above zero.", field="amount")
    if not new.customer_name.strip():
        raise InvalidInput("Enter the customer's name.", field="customer_name")
    repo = InvoiceRepository(session, company.id)
    number = (new.number or "").strip() or repo.next_number()
    if repo.by_number(number) is not None:
        raise InvalidInput(
            f"Invoice {number} already exists.",
            fix="Use another number, or leave it empty to get the next one.",
            field="number",
        )
    ingest = Ingestor(session, company, source="manual")
    result = upsert_invoice(
        ingest,
        InvoiceRecord(
            external_id=None,
            number=number,
            total_minor=new.amount_minor,
            currency=new.currency or company.currency,
            customer=CustomerRecord(
                None, new.customer_name.strip(), phone=new.customer_phone
            ),
            due_at=new.due_at,
            notes=new.notes,
        ),
    )
    invoice = repo.get_or_404(result.id)
    audit.record(
        session,
        actor,
        "invoice.create",
        f"Created invoice {invoice.number}.",
        target_type="invoice",
        target_id=invoice.id,
        after=invoice_data(invoice),
    )
    return invoice


def customer_debt(
    session: Session, company_id: uuid.UUID, customer_id: uuid.UUID
) -> dict[str, int]:
    """What a customer still owes on open invoices, per currency."""
    stmt = (
        select(Invoice.currency, func.sum(Invoice.total_minor - Invoice.paid_minor))
        .where(
            Invoice.company_id == company_id,
            Invoice.customer_id == customer_id,
            Invoice.status.in_(OPEN_STATUSES),
        )
        .group_by(Invoice.currency)
    )
    return {cur: int(total or 0) for cur, total in session.execute(stmt).all()}


def customers_by_id(
    session: Session, company_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Customer]:
    if not ids:
        return {}
    stmt = select(Customer).where(
        Customer.company_id == company_id, Customer.id.in_(list(ids))
    )
    return {c.id: c for c in session.scalars(stmt)}


register_upserter(InvoiceRecord, upsert_invoice)
