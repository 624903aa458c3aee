"""Payments: counted once per (company, provider, reference), whatever route
brought them, and matched to invoices as connector payments are.

- An M-Pesa row (the method says so, or it is a row of an M-Pesa statement
  export) is settled by ``payments.statement.record_row``, the very code the
  M-Pesa page's statement import uses: the receipt is the key, so the same
  payment from a callback, a C2B confirmation, the statement or this file
  is one payment (P1, P2), and one that contradicts a payment we expected
  is held for a person (P3).
- Any other row is recorded with ``crm.payments.record_payment`` (insert …
  on conflict do nothing) and matched by ``reconcile``; the invoice the row
  names, when it exists, is the one it pays.

A row without a reference (cash book) is keyed by its file and row, so the
same file imported again counts nothing twice (ADR 0009).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from copcca.connectors.mpesa.statement import StatementRow
from copcca.crm.invoices import InvoiceRepository, apply_amount, normalise_reference
from copcca.crm.payments import PaymentRepository, record_payment
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.mapping import normalise
from copcca.imports.undo import register_table
from copcca.imports.validation import SKIP
from copcca.imports.writers.base import CleanBatch, WriteContext, Written, change
from copcca.models.crm import Invoice, Payment, PaymentAllocation
from copcca.models.integrations import Integration
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.payments.answers import shortcodes_of
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.settle import Outcome
from copcca.payments.statement import record_row
from copcca.reconcile.service import reconcile

MPESA = "mpesa"
# (words in the Method cell, provider key, payments.method)
METHODS = (
    (
        (
            "mpesa",
            "m pesa",
            "lipa na mpesa",
            "paybill",
            "pay bill",
            "till",
            "buy goods",
        ),
        MPESA,
        "mobile_money",
    ),
    (("airtel",), "airtel_money", "mobile_money"),
    (("tigo", "mixx"), "tigo_pesa", "mobile_money"),
    (("mtn", "momo"), "mtn_momo", "mobile_money"),
    (("flutterwave",), "flutterwave", "card"),
    (("paypal",), "paypal", "card"),
    (("card", "kadi", "carte", "visa", "mastercard"), "card", "card"),
    (
        ("bank", "benki", "banque", "transfer", "virement", "cheque", "eft", "rtgs"),
        "bank",
        "bank",
    ),
    (("cash", "taslimu", "especes", "espece", "liquide"), "cash", "cash"),
    (("mobile money", "pesa ya simu", "argent mobile"), "mobile_money", "mobile_money"),
)
MPESA_RECEIPT = re.compile(r"(?=.*[A-Z])(?=.*[0-9])[A-Z0-9]{10}")
REQUEST_FIELDS = (
    "status",
    "payment_id",
    "receipt",
    "receipt_verified",
    "settled_via",
    "settled_at",
    "next_check_at",
    "review_reason",
)


def method_of(
    text: str | None, reference: str | None, currency: str
) -> tuple[str, str]:
    """(provider, method) a row's Method cell names; a blank one is M-Pesa
    when the reference is shaped like an M-Pesa receipt in shillings."""
    words = normalise(text or "")
    for names, provider, method in METHODS:
        if any(w in words for w in names):
            return provider, method
    if not words and currency == "KES" and MPESA_RECEIPT.fullmatch(reference or ""):
        return MPESA, "mobile_money"
    return "other", "other"


class PaymentWriter:
    entity = "payment"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.zone = ZoneInfo(ctx.company.timezone)
        integration = ctx.session.scalar(
            select(Integration)
            .where(
                Integration.company_id == ctx.company.id, Integration.provider == MPESA
            )
            .order_by(Integration.created_at)
            .limit(1)
        )
        self.integration_id = integration.id if integration is not None else None
        self.shortcodes = shortcodes_of(integration)
        self.requests = PaymentRequestRepository(ctx.session, ctx.company.id)
        self.payments = PaymentRepository(ctx.session, ctx.company.id)

    def write(self, batch: CleanBatch) -> Written:
        out = Written("payment")
        invoices = self._invoices(batch)
        seen: set[tuple[str, str]] = set()
        for i in batch.live():
            row = self._row(batch, i)
            if row is None:
                continue
            key = (row.provider, row.reference)
            if key in seen:
                batch.problems.add(i, "reference", "duplicate_in_file", row.reference)
                out.unchanged += 1
                continue
            seen.add(key)
            if row.invoice and row.invoice_id is None:
                row.invoice_id = invoices.get(normalise_reference(row.invoice))
                if row.invoice_id is None and not self._without_invoice(batch, i, row):
                    continue
            if row.statement is not None:
                self._mpesa(batch, i, row.statement, out)
            else:
                self._other(batch, i, row, out)
        self.ctx.session.flush()
        return out

    # ------------------------------------------------------------ rows
    def _row(self, batch: CleanBatch, i: int) -> _Row | None:
        statement = batch.fields.get("statement")
        if statement is not None:
            found: StatementRow = statement[i]
            return _Row(MPESA, found.receipt, found.account, statement=found)
        amount = batch.column("amount_minor")[i]
        if amount is None or amount <= 0:
            batch.problems.add(i, "amount", "bad_amount", amount)
            batch.skip[i] = True
            return None
        currency = batch.currencies[i]
        reference = batch.column("reference")[i]
        provider, method = method_of(batch.column("method")[i], reference, currency)
        invoice = batch.column("invoice")[i]
        paid_at = self._when(batch.column("paid_at")[i])
        if provider == MPESA and currency == "KES":
            if not reference:
                batch.problems.add(i, "reference", "missing_required", None)
                batch.skip[i] = True
                return None
            phone = batch.column("payer_phone")[i]
            line = StatementRow(
                line=batch.rows[i],
                receipt=reference.upper(),
                amount_minor=amount,
                completed_at=paid_at,
                details="",
                phone_hint=phone.lstrip("+") if phone else None,
                payer_name=batch.column("payer_name")[i],
                account=invoice,
            )
            return _Row(MPESA, line.receipt, invoice, statement=line)
        return _Row(
            provider,
            reference or self.ctx.row_key(batch.rows[i]),
            invoice,
            method=method,
            record=PaymentRecord(
                provider=provider,
                provider_reference=reference or self.ctx.row_key(batch.rows[i]),
                amount_minor=amount,
                currency=currency,
                received_at=paid_at,
                payer_phone=batch.column("payer_phone")[i],
                payer_name=batch.column("payer_name")[i],
                account_reference=invoice,
                method=method,
                raw={"import_row": batch.rows[i]},
            ),
        )

    def _invoices(self, batch: CleanBatch) -> dict[str, uuid.UUID]:
        """Invoices the rows name, by number or payment reference."""
        wanted = {normalise_reference(v) for v in batch.column("invoice") if v} | {
            normalise_reference(r.account)
            for r in batch.fields.get("statement") or []
            if r is not None and r.account
        }
        wanted.discard("")
        if not wanted:
            return {}
        columns = (Invoice.id, Invoice.number, Invoice.payment_reference)
        base = Invoice.company_id == self.ctx.company.id
        session = self.ctx.session
        rows = [
            *bulk.select_in(session, columns, Invoice.payment_reference, wanted, base),
            *bulk.select_in(session, columns, Invoice.number, _numbers(wanted), base),
        ]
        found: dict[str, uuid.UUID] = {}
        for invoice in rows:
            for key in (invoice.number, invoice.payment_reference):
                if normalise_reference(key) in wanted:
                    found.setdefault(normalise_reference(key), invoice.id)
        return found

    def _without_invoice(self, batch: CleanBatch, i: int, row: _Row) -> bool:
        batch.problems.add(i, "invoice", "unknown_invoice", row.invoice)
        if self.ctx.choice("unknown_invoice") == SKIP:
            batch.skip[i] = True
            return False
        return True

    # ------------------------------------------------------------ writing
    def _mpesa(
        self, batch: CleanBatch, i: int, line: StatementRow, out: Written
    ) -> None:
        """Settle like a statement row; log what changed for undo."""
        ctx = self.ctx
        before = self.requests.by_reference(MPESA, line.receipt)
        snapshot = _request_state(before) if before is not None else None
        outcome = record_row(
            ctx.session, ctx.company, self.integration_id, line, self.shortcodes
        )
        ctx.session.flush()
        request = self.requests.by_reference(MPESA, line.receipt)
        if request is not None and snapshot is None:
            out.created_ids.append(f"payment_request:{request.id}")
        elif request is not None and snapshot is not None:
            after = _request_state(request)
            diff = {k: v for k, v in after.items() if snapshot[k] != v}
            if diff:
                out.updates.append(
                    change(
                        "payment_request",
                        request.id,
                        {k: snapshot[k] for k in diff},
                        diff,
                    )
                )
        if outcome is Outcome.CREDITED:
            payment = self.payments.by_reference(MPESA, line.receipt)
            assert payment is not None
            out.created += 1
            out.created_ids.append(f"payment:{payment.id}")
        elif outcome is Outcome.ALREADY:
            batch.problems.add(i, "reference", "already_counted", line.receipt)
            out.unchanged += 1
        else:
            batch.problems.add(i, "reference", "payment_held", line.receipt)
            out.skipped += 1

    def _other(self, batch: CleanBatch, i: int, row: _Row, out: Written) -> None:
        assert row.record is not None
        ctx = self.ctx
        result = record_payment(ctx.session, ctx.company, row.record)
        if not result.created:
            batch.problems.add(i, "reference", "already_counted", row.reference)
            out.unchanged += 1
            return
        reconcile(
            ctx.session,
            ctx.company,
            result.payment,
            requested_invoice_id=row.invoice_id,
        )
        out.created += 1
        out.created_ids.append(f"payment:{result.payment.id}")

    def _when(self, day: date | None) -> datetime:
        if day is None:
            return utcnow()
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)


class _Row:
    def __init__(
        self,
        provider: str,
        reference: str,
        invoice: str | None,
        *,
        statement: StatementRow | None = None,
        method: str = "mobile_money",
        record: PaymentRecord | None = None,
    ) -> None:
        self.provider, self.reference, self.invoice = provider, reference, invoice
        self.statement, self.method, self.record = statement, method, record
        self.invoice_id: uuid.UUID | None = None


def _numbers(wanted: set[str]) -> list[str]:
    """Invoice numbers are stored as written (``INV-0042``); the file may
    drop the dash, so ask for both spellings of the usual prefixes."""
    out = set(wanted)
    for ref in wanted:
        match = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
        if match:
            out.add(f"{match.group(1)}-{match.group(2)}")
    return sorted(out)


def _request_state(request: PaymentRequest) -> dict[str, Any]:
    return {f: getattr(request, f) for f in REQUEST_FIELDS}


def _unapply(
    session: Session, company_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Before an imported payment goes: its invoices owe again, its matches
    go, and a request it settled (a push we made) is checked again with the
    provider. A payment partly refunded since stays."""
    refunded = set(
        session.scalars(
            select(Payment.id).where(
                Payment.company_id == company_id,
                Payment.id.in_(ids),
                Payment.refunded_minor > 0,
            )
        )
    )
    ids = [i for i in ids if i not in refunded]
    if not ids:
        return []
    applied = list(
        session.scalars(
            select(PaymentAllocation).where(
                PaymentAllocation.company_id == company_id,
                PaymentAllocation.payment_id.in_(ids),
                PaymentAllocation.status == "applied",
            )
        )
    )
    invoices = {
        i.id: i
        for i in InvoiceRepository(session, company_id).locked(
            [a.invoice_id for a in applied]
        )
    }
    for allocation in applied:
        if allocation.invoice_id in invoices:
            apply_amount(invoices[allocation.invoice_id], -allocation.amount_minor)
    session.flush()
    session.execute(
        delete(PaymentAllocation).where(
            PaymentAllocation.company_id == company_id,
            PaymentAllocation.payment_id.in_(ids),
        )
    )
    session.execute(
        update(PaymentRequest)
        .where(
            PaymentRequest.company_id == company_id,
            PaymentRequest.payment_id.in_(ids),
        )
        .values(
            status=RequestStatus.CONFIRMING.value,
            payment_id=None,
            settled_via=None,
            settled_at=None,
            next_check_at=utcnow(),
        )
    )
    return ids


register_table("payment", cast(Table, Payment.__table__), before_delete=_unapply)
