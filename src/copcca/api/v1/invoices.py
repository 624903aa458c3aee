"""Invoices, and requesting payment for one from the customer's phone."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.crm.invoices import InvoiceRepository, NewInvoice, create_invoice
from copcca.errors import Conflict
from copcca.models.tenancy import Company
from copcca.payments.requests import PushInput, request_payment
from copcca.payments.schemas import (
    InvoiceCreate,
    InvoiceList,
    InvoiceOut,
    PaymentRequestIn,
    PaymentRequestOut,
)

router = APIRouter(prefix="/invoices", tags=["invoices"], responses=AUTH_ERRORS)


@router.get("", response_model=InvoiceList)
def list_invoices(
    session: SessionDep,
    principal: PrincipalDep,
    status_: str | None = Query(
        default=None, alias="status", max_length=24, description="open, paid, ..."
    ),
    limit: int = Query(default=100, ge=1, le=500),
) -> InvoiceList:
    rows = InvoiceRepository(session, principal.company_id).listing(
        status_, limit=limit
    )
    return InvoiceList(items=[InvoiceOut.of(i) for i in rows])


@router.post(
    "",
    response_model=InvoiceOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(422),
)
def new_invoice(
    body: InvoiceCreate, session: SessionDep, principal: PrincipalDep
) -> InvoiceOut:
    """Raise an invoice; it gets a short payment reference for M-Pesa."""
    company = session.get(Company, principal.company_id)
    assert company is not None
    invoice = create_invoice(
        session,
        principal,
        company,
        NewInvoice(
            customer_name=body.customer_name,
            customer_phone=body.customer_phone,
            amount_minor=body.amount_minor,
            currency=body.currency.upper() if body.currency else None,
            number=body.number,
            due_at=body.due_at,
            notes=body.notes,
        ),
    )
    return InvoiceOut.of(invoice)


@router.get("/{invoice_id}", response_model=InvoiceOut, responses=responses(404))
def get_invoice(
    invoice_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> InvoiceOut:
    return InvoiceOut.of(
        InvoiceRepository(session, principal.company_id).get_or_404(invoice_id)
    )


@router.post(
    "/{invoice_id}/request-payment",
    response_model=PaymentRequestOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409, 422),
)
def request_invoice_payment(
    invoice_id: uuid.UUID,
    body: PaymentRequestIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> PaymentRequestOut:
    """Send a payment prompt (M-Pesa STK push, Airtel/Tigo USSD push) to the
    customer's phone. The invoice is paid when the provider confirms it."""
    result = request_payment(
        runtime,
        principal,
        PushInput(
            integration_id=body.integration_id,
            invoice_id=invoice_id,
            phone=body.phone,
            amount_minor=body.amount_minor,
        ),
    )
    if not result.ok:
        raise Conflict(
            result.message, fix=result.fix, request_id=str(result.request_id)
        )
    return PaymentRequestOut(request_id=result.request_id, message=result.message)
