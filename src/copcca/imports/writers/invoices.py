"""Invoices, through the CRM's own ``upsert_invoice``: matched by number
(unique per company), each new one given its short payment reference and
its ``invoice.created`` event exactly as hand-made and synced invoices are.
An unpaid imported invoice is then part of its customer's debt
(``crm.invoices.customer_debt``) and payments are matched to it.

Invoices are few next to customers, so one upsert per row is fast enough
and keeps a single definition of what an invoice update may change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from copcca.crm.ingest import Ingestor, Outcome
from copcca.crm.invoices import InvoiceRepository, upsert_invoice
from copcca.crm.records import InvoiceRecord
from copcca.imports.mapping import normalise
from copcca.imports.undo import register_table
from copcca.imports.validation import SKIP
from copcca.imports.writers.base import CleanBatch, WriteContext, Written, change
from copcca.imports.writers.linked import customers_for
from copcca.models.crm import Invoice, InvoiceStatus, PaymentAllocation

TRACKED = ("total_minor", "paid_minor", "status", "due_at", "notes", "customer_id")
OPEN, PAID, PARTLY = "open", "paid", "partially_paid"
STATUS_WORDS = {
    OPEN: (
        "open",
        "unpaid",
        "not paid",
        "due",
        "overdue",
        "outstanding",
        "pending",
        "sent",
        "haijalipwa",
        "bado",
        "inadaiwa",
        "impayee",
        "impaye",
        "non payee",
        "ouverte",
        "en attente",
        "en retard",
    ),
    PAID: (
        "paid",
        "fully paid",
        "settled",
        "closed",
        "imelipwa",
        "imelipwa yote",
        "lipwa",
        "payee",
        "paye",
        "reglee",
        "regle",
        "soldee",
    ),
    PARTLY: (
        "partial",
        "partly paid",
        "partially paid",
        "part paid",
        "imelipwa sehemu",
        "sehemu",
        "nusu",
        "partiellement payee",
        "paiement partiel",
        "partielle",
    ),
    InvoiceStatus.DRAFT.value: ("draft", "rasimu", "brouillon"),
    InvoiceStatus.VOID.value: (
        "void",
        "cancelled",
        "canceled",
        "imefutwa",
        "batili",
        "annulee",
        "annule",
    ),
}
STATUSES = {normalise(w): s for s, words in STATUS_WORDS.items() for w in words}


class InvoiceWriter:
    entity = "invoice"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.zone = ZoneInfo(ctx.company.timezone)
        self.ingest = Ingestor(ctx.session, ctx.company, source="import")
        self.repo = InvoiceRepository(ctx.session, ctx.company.id)

    def write(self, batch: CleanBatch) -> Written:
        ctx, out = self.ctx, Written("invoice")
        customers = customers_for(ctx, batch, out)
        seen: set[str] = set()
        for i in batch.live():
            record = self._record(batch, i)
            if record is None:
                batch.skip[i] = True
                continue
            existing = self.repo.by_number(record.number)
            if existing is not None and not self._accept(batch, i, existing, seen):
                continue
            before = _snapshot(existing) if existing is not None else None
            result = upsert_invoice(self.ingest, record)
            invoice = self.repo.get_or_404(result.id)
            if customers[i] is not None and invoice.customer_id != customers[i]:
                invoice.customer_id = customers[i]
            seen.add(record.number)
            if result.outcome is Outcome.CREATED:
                out.created += 1
                out.created_ids.append(str(invoice.id))
                continue
            assert before is not None
            after = _snapshot(invoice)
            diff = {k: v for k, v in after.items() if before[k] != v}
            if diff:
                out.updated += 1
                out.updates.append(
                    change("invoice", invoice.id, {k: before[k] for k in diff}, diff)
                )
            else:
                out.unchanged += 1
        ctx.session.flush()
        return out

    def _accept(
        self, batch: CleanBatch, i: int, existing: Invoice, seen: set[str]
    ) -> bool:
        mine = existing.number in seen or existing.created_at >= self.ctx.started_at
        code = "duplicate_in_file" if mine else "duplicate_existing"
        batch.problems.add(i, "number", code, existing.number)
        if self.ctx.choice(code) == SKIP:
            batch.skip[i] = True
            return False
        return True

    def _record(self, batch: CleanBatch, i: int) -> InvoiceRecord | None:
        """The row as the CRM's invoice record; None to leave it out."""
        total = batch.column("amount_minor")[i]
        paid = batch.column("paid_minor")[i]
        if total is None or total < 0:
            batch.problems.add(i, "amount", "bad_amount", total)
            return None
        status = self._status(batch, i)
        if status == "":
            return None
        if status == PAID and paid is None:
            paid = total
        issued, due = batch.column("issued_at")[i], batch.column("due_at")[i]
        return InvoiceRecord(
            external_id=None,
            number=batch.column("number")[i],
            total_minor=total,
            currency=batch.currencies[i],
            paid_minor=max(0, paid) if paid is not None else None,
            issued_at=self._when(issued) if issued else None,
            due_at=self._when(due) if due else None,
            status=status if status not in (PAID, PARTLY) else OPEN,
            notes=batch.column("notes")[i],
        )

    def _status(self, batch: CleanBatch, i: int) -> str | None:
        """The CRM status a row's Status cell means; "" leaves the row out."""
        raw = batch.column("status")[i]
        if raw is None:
            return None
        found = STATUSES.get(normalise(raw))
        if found is not None:
            return found
        batch.problems.add(i, "status", "bad_status", raw)
        return "" if self.ctx.choice("bad_status") == SKIP else None

    def _when(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(
            ZoneInfo("UTC")
        )


def _snapshot(invoice: Invoice) -> dict[str, Any]:
    return {f: getattr(invoice, f) for f in TRACKED}


def _unpaid_only(
    session: Session, company_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Undo keeps an imported invoice a payment was applied to since: the
    payment's match is a person's or the matcher's decision, not the file's."""
    paid = set(
        session.scalars(
            select(PaymentAllocation.invoice_id).where(
                PaymentAllocation.company_id == company_id,
                PaymentAllocation.invoice_id.in_(ids),
                PaymentAllocation.status == "applied",
            )
        )
    )
    return [i for i in ids if i not in paid]


register_table("invoice", cast(Table, Invoice.__table__), before_delete=_unpaid_only)
