"""Payments, the review queue and held callbacks (owners and admins)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, File, Query, UploadFile

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.crm.payments import PaymentRepository
from copcca.errors import Conflict, InvalidInput, NotFound
from copcca.integrations.repository import IntegrationRepository
from copcca.models.tenancy import Company
from copcca.payments import mpesa, service
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.schemas import (
    ActionOut,
    Confirm,
    HeldList,
    HeldOut,
    PaymentList,
    PaymentOut,
    Reassign,
    ReviewItemOut,
    ReviewQueue,
    StatementOut,
    ThresholdIn,
    ThresholdOut,
)
from copcca.payments.statement import import_statement
from copcca.reconcile import service as reconcile
from copcca.security.principal import Principal

router = APIRouter(tags=["payments"], responses=AUTH_ERRORS)


def _company(session: SessionDep, principal: Principal) -> Company:
    principal.require_admin("see payments")
    company = session.get(Company, principal.company_id)
    assert company is not None
    return company


def _out(
    session: SessionDep, principal: Principal, payment_id: uuid.UUID
) -> PaymentOut:
    payment = PaymentRepository(session, principal.company_id).get_or_404(payment_id)
    return PaymentOut.of(payment, reconcile.applied_to(session, payment))


@router.get("/payments", response_model=PaymentList)
def list_payments(
    session: SessionDep,
    principal: PrincipalDep,
    status: str | None = Query(default=None, max_length=24),
    limit: int = Query(default=50, ge=1, le=200),
) -> PaymentList:
    """Recorded payments, newest first."""
    _company(session, principal)
    rows = PaymentRepository(session, principal.company_id).listing(status, limit=limit)
    return PaymentList(
        items=[PaymentOut.of(p, reconcile.applied_to(session, p)) for p in rows]
    )


@router.get("/payments/review", response_model=ReviewQueue)
def review_queue(session: SessionDep, principal: PrincipalDep) -> ReviewQueue:
    """Payments waiting for a person, each with up to three candidates."""
    _company(session, principal)
    items = reconcile.review_queue(session, principal.company_id)
    return ReviewQueue(items=[ReviewItemOut.of(i) for i in items])


@router.get("/payments/settings", response_model=ThresholdOut)
def get_settings(session: SessionDep, principal: PrincipalDep) -> ThresholdOut:
    return ThresholdOut(
        auto_match_threshold=reconcile.threshold_of(_company(session, principal))
    )


@router.patch(
    "/payments/settings", response_model=ThresholdOut, responses=responses(422)
)
def set_settings(
    body: ThresholdIn, session: SessionDep, principal: PrincipalDep
) -> ThresholdOut:
    """From which confidence matches apply themselves (101: always ask)."""
    company = _company(session, principal)
    reconcile.set_threshold(session, principal, company, body.auto_match_threshold)
    return ThresholdOut(auto_match_threshold=reconcile.threshold_of(company))


@router.get("/payments/held", response_model=HeldList)
def held(session: SessionDep, principal: PrincipalDep) -> HeldList:
    """Callbacks not credited: they did not match or could not be checked."""
    _company(session, principal)
    rows = PaymentRequestRepository(session, principal.company_id).quarantined()
    return HeldList(
        items=[HeldOut.of(r, service.recordable(r) is not None) for r in rows]
    )


@router.post(
    "/payments/held/{request_id}/dismiss",
    response_model=HeldOut,
    responses=responses(404, 409),
)
def dismiss_held(
    request_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> HeldOut:
    row = service.dismiss(session, principal, _company(session, principal), request_id)
    return HeldOut.of(row, False)


@router.post(
    "/payments/held/{request_id}/record",
    response_model=HeldOut,
    responses=responses(404, 409, 422),
)
def record_held(
    request_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> HeldOut:
    """Credit a held payment with the amount the provider confirmed (or that
    you vouch for, when it could not be checked). Audited."""
    row = service.record(session, principal, _company(session, principal), request_id)
    return HeldOut.of(row, False)


@router.get(
    "/payments/{payment_id}", response_model=PaymentOut, responses=responses(404)
)
def get_payment(
    payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> PaymentOut:
    _company(session, principal)
    return _out(session, principal, payment_id)


@router.post(
    "/payments/{payment_id}/confirm",
    response_model=PaymentOut,
    responses=responses(404, 409),
)
def confirm(
    payment_id: uuid.UUID, body: Confirm, session: SessionDep, principal: PrincipalDep
) -> PaymentOut:
    """Apply the suggestion ranked ``rank``."""
    reconcile.confirm(
        session, principal, _company(session, principal), payment_id, body.rank
    )
    return _out(session, principal, payment_id)


@router.post(
    "/payments/{payment_id}/reassign",
    response_model=PaymentOut,
    responses=responses(404, 409, 422),
)
def reassign(
    payment_id: uuid.UUID, body: Reassign, session: SessionDep, principal: PrincipalDep
) -> PaymentOut:
    """Put the payment on another invoice (undoing its current match)."""
    company = _company(session, principal)
    PaymentRepository(session, principal.company_id).get_or_404(payment_id)
    if body.invoice_id is None:
        raise InvalidInput("Say which invoice: invoice_id.", field="invoice_id")
    reconcile.reassign(session, principal, company, payment_id, body.invoice_id)
    return _out(session, principal, payment_id)


@router.post(
    "/payments/{payment_id}/undo",
    response_model=PaymentOut,
    responses=responses(404, 409),
)
def undo(
    payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> PaymentOut:
    """Take the match back: the invoices owe again."""
    reconcile.undo(session, principal, _company(session, principal), payment_id)
    return _out(session, principal, payment_id)


@router.post(
    "/payments/{payment_id}/keep-unmatched",
    response_model=PaymentOut,
    responses=responses(404, 409),
)
def keep_unmatched(
    payment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> PaymentOut:
    """A payment for no invoice: stop asking about it."""
    reconcile.keep_unmatched(
        session, principal, _company(session, principal), payment_id
    )
    return _out(session, principal, payment_id)


def _mpesa_or_404(
    session: SessionDep, principal: Principal, integration_id: uuid.UUID
) -> None:
    found = IntegrationRepository(session, principal.company_id).get(integration_id)
    if found is None or found.provider != "mpesa":
        raise NotFound("No such M-Pesa connection.", fix="Check the id.")


# M-Pesa actions: each calls Daraja outside any transaction --------------
@router.post(
    "/integrations/{integration_id}/mpesa/register-urls",
    response_model=ActionOut,
    responses=responses(404, 409, 422),
)
def register_urls(
    integration_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep
) -> ActionOut:
    """Register this hub's C2B confirmation and validation addresses."""
    result = mpesa.register_c2b_urls(runtime, principal, integration_id)
    if not result.ok:
        raise Conflict(result.message, fix=result.fix)
    return ActionOut(ok=True, message=result.message)


@router.post(
    "/integrations/{integration_id}/mpesa/balance",
    response_model=ActionOut,
    responses=responses(404, 409),
)
def balance(
    integration_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep
) -> ActionOut:
    """Ask for the balance; it arrives in the Sync Logs shortly."""
    result = mpesa.check_balance(runtime, principal, integration_id)
    if not result.ok:
        raise Conflict(result.message, fix=result.fix)
    return ActionOut(ok=True, message=result.message)


@router.post(
    "/integrations/{integration_id}/mpesa/statement",
    response_model=StatementOut,
    responses=responses(404, 413, 422),
)
def statement(
    integration_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    file: UploadFile | None = File(
        default=None, description="The CSV the M-Pesa business portal exports."
    ),
) -> StatementOut:
    """Import an M-Pesa statement: each payment once, matched to invoices."""
    company = _company(session, principal)
    _mpesa_or_404(session, principal, integration_id)
    if file is None:
        raise InvalidInput("Attach the statement file as 'file'.", field="file")
    data = file.file.read(5_000_001)
    result = import_statement(session, principal, company, integration_id, data)
    return StatementOut(
        added=result.added,
        already=result.already,
        held=result.held,
        skipped=result.skipped,
        problems=[{"line": line, "message": text} for line, text in result.problems],
        message=result.message,
    )
