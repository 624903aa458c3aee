"""Payments pages: the "Needs your attention" review queue (confirm,
reassign, undo, keep), held callbacks, invoices with "Request payment", and
the M-Pesa actions of a connection's page. Owners and admins only.

Actions that call a provider read with ``ReadPageDep`` and write in their
own short transactions, so no provider call holds the database."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from copcca.crm.invoices import InvoiceRepository, NewInvoice, create_invoice
from copcca.crm.money import from_minor
from copcca.crm.money import to_minor_exact as to_minor
from copcca.crm.payments import PaymentRepository
from copcca.errors import CopccaError, InvalidInput, NotFound
from copcca.integrations.repository import IntegrationRepository
from copcca.payments import mpesa, service
from copcca.payments.checks import check_request
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.requests import PushInput, push_integrations, request_payment
from copcca.payments.statement import import_statement
from copcca.reconcile import service as reconcile
from copcca.web.deps import PageDep, ReadPageDep

router = APIRouter(prefix="/app/integrations/payments")
HOME = "/app/integrations/payments"
INVOICES = f"{HOME}/invoices"


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@router.get("")
def payments_home(page: PageDep) -> HTMLResponse:
    page.principal.require_admin("see payments")
    repo = PaymentRepository(page.session, page.principal.company_id)
    recent = repo.listing(limit=30)
    return page.render(
        "sections/payments.html",
        section="overview",
        queue=reconcile.review_queue(page.session, page.principal.company_id),
        held=[
            (row, service.recordable(row) is not None)
            for row in PaymentRequestRepository(
                page.session, page.principal.company_id
            ).quarantined(50)
        ],
        recent=[(p, reconcile.applied_to(page.session, p)) for p in recent],
        open_invoices=InvoiceRepository(
            page.session, page.principal.company_id
        ).open_invoices(limit=300),
        threshold=reconcile.threshold_of(page.company),
    )


async def _decide(
    request: Request, page: PageDep, action: str, payment_id: uuid.UUID
) -> Response:
    form = await request.form()
    company, actor, session = page.company, page.principal, page.session
    try:
        with session.begin_nested():
            if action == "confirm":
                raw = str(form.get("rank") or "1")
                rank = int(raw) if raw.isdigit() else 1
                reconcile.confirm(session, actor, company, payment_id, rank)
                message = "Matched. The invoice balance went down."
            elif action == "reassign":
                PaymentRepository(session, actor.company_id).get_or_404(payment_id)
                invoice_id = _uuid(form.get("invoice_id"))
                if invoice_id is None:
                    raise InvalidInput("Pick an invoice.", field="invoice_id")
                reconcile.reassign(session, actor, company, payment_id, invoice_id)
                message = "Moved to the invoice you picked."
            elif action == "undo":
                reconcile.undo(session, actor, company, payment_id)
                message = "Undone. The payment waits in Needs your attention again."
            else:
                reconcile.keep_unmatched(session, actor, company, payment_id)
                message = "Kept as a payment without an invoice."
    except CopccaError as exc:
        if exc.status_code == 404:
            raise
        return page.redirect(HOME, exc.message)
    return page.redirect(HOME, message)


@router.post("/{payment_id}/confirm")
async def confirm(request: Request, page: PageDep, payment_id: uuid.UUID) -> Response:
    return await _decide(request, page, "confirm", payment_id)


@router.post("/{payment_id}/reassign")
async def reassign(request: Request, page: PageDep, payment_id: uuid.UUID) -> Response:
    return await _decide(request, page, "reassign", payment_id)


@router.post("/{payment_id}/undo")
async def undo(request: Request, page: PageDep, payment_id: uuid.UUID) -> Response:
    return await _decide(request, page, "undo", payment_id)


@router.post("/{payment_id}/keep")
async def keep(request: Request, page: PageDep, payment_id: uuid.UUID) -> Response:
    return await _decide(request, page, "keep", payment_id)


@router.post("/held/{request_id}/dismiss")
def dismiss_held(page: PageDep, request_id: uuid.UUID) -> Response:
    service.dismiss(page.session, page.principal, page.company, request_id)
    return page.redirect(HOME, "Dismissed. Nothing was credited.")


@router.post("/held/{request_id}/record")
def record_held(page: PageDep, request_id: uuid.UUID) -> Response:
    try:
        with page.session.begin_nested():
            service.record(page.session, page.principal, page.company, request_id)
    except CopccaError as exc:
        if exc.status_code == 404:
            raise
        return page.redirect(HOME, exc.message)
    return page.redirect(HOME, "Recorded and matched.")


@router.post("/settings")
async def settings(request: Request, page: PageDep) -> Response:
    form = await request.form()
    raw = str(form.get("threshold") or "")
    try:
        with page.session.begin_nested():
            reconcile.set_threshold(
                page.session,
                page.principal,
                page.company,
                int(raw) if raw.isdigit() else 0,
            )
    except CopccaError as exc:
        return page.redirect(HOME, exc.message)
    return page.redirect(HOME, "Saved.")


# ---------------------------------------------------------------- invoices
@router.get("/invoices")
def invoices(page: PageDep, status: str = "open") -> HTMLResponse:
    page.principal.require_admin("see payments")
    shown = status if status in ("open", "paid", "all") else "open"
    rows = InvoiceRepository(page.session, page.principal.company_id).listing(
        None if shown == "all" else shown, limit=200
    )
    return page.render(
        "sections/invoices.html",
        section="overview",
        invoices=rows,
        status=shown,
        connections=push_integrations(page.session, page.principal),
        major=lambda minor, currency: str(from_minor(minor, currency)),
        requests={
            inv.id: PaymentRequestRepository(
                page.session, page.principal.company_id
            ).for_invoice(inv.id, 3)
            for inv in rows[:50]
        },
    )


@router.post("/invoices")
async def new_invoice(request: Request, page: PageDep) -> Response:
    form = await request.form()
    page.principal.require_admin("raise invoices here")
    try:
        amount = to_minor(
            str(form.get("amount") or "0").replace(",", ""), page.company.currency
        )
        with page.session.begin_nested():
            invoice = create_invoice(
                page.session,
                page.principal,
                page.company,
                NewInvoice(
                    customer_name=str(form.get("customer_name") or ""),
                    customer_phone=str(form.get("customer_phone") or "") or None,
                    amount_minor=amount,
                ),
            )
    except CopccaError as exc:
        return page.redirect(INVOICES, exc.message)
    return page.redirect(
        INVOICES,
        f"Invoice {invoice.number} created. Customers can pay it on M-Pesa with "
        f"account number {invoice.payment_reference}.",
    )


@router.post("/invoices/{invoice_id}/request")
async def request_invoice_payment(
    request: Request, page: ReadPageDep, invoice_id: uuid.UUID
) -> Response:
    form = await request.form()
    amount_text = str(form.get("amount") or "").replace(",", "").strip()
    try:
        amount = to_minor(amount_text, page.company.currency) if amount_text else None
        result = request_payment(
            page.runtime,
            page.principal,
            PushInput(
                integration_id=_uuid(form.get("integration_id")),
                invoice_id=invoice_id,
                phone=str(form.get("phone") or "") or None,
                amount_minor=amount,
            ),
        )
    except CopccaError as exc:
        if exc.status_code == 404:
            raise
        return page.redirect(INVOICES, exc.message)
    text = (
        result.message if result.ok else f"{result.message} {result.fix or ''}".strip()
    )
    return page.redirect(INVOICES, text)


# ---------------------------------------------------------------- connections
def _system(integration_id: uuid.UUID) -> str:
    return f"/app/integrations/systems/{integration_id}"


@router.post("/connections/{integration_id}/register")
def register_urls(page: ReadPageDep, integration_id: uuid.UUID) -> Response:
    try:
        result = mpesa.register_c2b_urls(page.runtime, page.principal, integration_id)
    except InvalidInput as exc:
        return page.redirect(_system(integration_id), f"{exc.message} {exc.fix or ''}")
    return page.redirect(
        _system(integration_id), f"{result.message} {result.fix or ''}".strip()
    )


@router.post("/connections/{integration_id}/request")
async def request_from_connection(
    request: Request, page: ReadPageDep, integration_id: uuid.UUID
) -> Response:
    """Request payment from a connection's page: pick an open invoice."""
    connection = IntegrationRepository(
        page.session, page.principal.company_id
    ).get_or_404(integration_id)  # another company's id is a 404, as everywhere
    page.principal.require_category(connection.category)
    form = await request.form()
    invoice_id = _uuid(form.get("invoice_id"))
    if invoice_id is None:
        return page.redirect(_system(integration_id), "Pick an invoice first.")
    try:
        result = request_payment(
            page.runtime,
            page.principal,
            PushInput(
                integration_id=integration_id,
                invoice_id=invoice_id,
                phone=str(form.get("phone") or "").strip() or None,
            ),
        )
    except CopccaError as exc:
        if exc.status_code == 404:
            raise
        return page.redirect(
            _system(integration_id), f"{exc.message} {exc.fix or ''}".strip()
        )
    text = result.message if result.ok else f"{result.message} {result.fix or ''}"
    return page.redirect(_system(integration_id), text.strip())


@router.post("/connections/{integration_id}/balance")
def balance(page: ReadPageDep, integration_id: uuid.UUID) -> Response:
    result = mpesa.check_balance(page.runtime, page.principal, integration_id)
    return page.redirect(
        _system(integration_id), f"{result.message} {result.fix or ''}".strip()
    )


@router.post("/connections/{integration_id}/test-payment")
async def test_payment(
    request: Request, page: ReadPageDep, integration_id: uuid.UUID
) -> Response:
    form = await request.form()
    try:
        amount = to_minor(str(form.get("amount") or "0").replace(",", ""), "KES")
        result = mpesa.simulate_c2b(
            page.runtime,
            page.principal,
            integration_id,
            amount,
            str(form.get("phone") or ""),
            str(form.get("account") or "")[:20],
        )
    except InvalidInput as exc:
        return page.redirect(_system(integration_id), exc.message)
    return page.redirect(_system(integration_id), result.message)


@router.post("/connections/{integration_id}/statement")
async def statement(
    request: Request, page: PageDep, integration_id: uuid.UUID
) -> Response:
    found = IntegrationRepository(page.session, page.principal.company_id).get(
        integration_id
    )
    if found is None or found.provider != "mpesa":
        raise NotFound(
            "No such M-Pesa connection.", fix="Open it from Connect Systems."
        )
    form = await request.form()
    upload = form.get("statement")
    if upload is None or isinstance(upload, str):
        return page.redirect(
            _system(integration_id), "Choose the statement file first."
        )
    data = await upload.read(5_000_001)
    try:
        with page.session.begin_nested():
            result = import_statement(
                page.session, page.principal, page.company, integration_id, data
            )
    except CopccaError as exc:
        return page.redirect(
            _system(integration_id), f"{exc.message} {exc.fix or ''}".strip()
        )
    return page.redirect(_system(integration_id), result.message)


@router.post("/requests/{request_id}/check")
def check_now(page: ReadPageDep, request_id: uuid.UUID) -> Response:
    page.principal.require_admin("check payments")
    row = PaymentRequestRepository(page.session, page.principal.company_id).get_or_404(
        request_id
    )
    check_request(page.runtime, page.principal.company_id, row.id)
    return page.redirect(INVOICES, "Checked with the provider; see the result below.")
