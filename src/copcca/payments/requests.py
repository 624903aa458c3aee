"""Request payment for an invoice straight to the customer's phone
(M-Pesa STK push, Airtel USSD push, Tigo push).

The request row is committed *before* the provider is called (status
``sending``), so a crash in between leaves a row the status sweep expires
rather than a payment nobody knows about; no transaction is open while the
provider answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from copcca.connectors.errors import ProviderError
from copcca.connectors.registry import Category, get_provider
from copcca.crm.invoices import InvoiceRepository, balance_of
from copcca.crm.money import format_money
from copcca.crm.phones import display_phone, normalise_phone
from copcca.db.base import utcnow
from copcca.errors import Conflict, CopccaError, InvalidInput, NotFound
from copcca.integrations.repository import IntegrationRepository
from copcca.models.crm import Customer, InvoiceStatus
from copcca.models.integrations import Integration, IntegrationStatus, SyncStatus
from copcca.models.payments import PaymentRequest, RequestOrigin, RequestStatus
from copcca.models.tenancy import Company
from copcca.payments import intake, logs, urls
from copcca.payments.checks import rail_for
from copcca.payments.context import payment_context
from copcca.payments.rails import PushAck, PushOrder
from copcca.payments.repository import PaymentRequestRepository
from copcca.runtime import Runtime
from copcca.security import audit
from copcca.security.principal import Principal

SENDING_PREFIX = "local:"
FIRST_CHECK = timedelta(seconds=45)


@dataclass(frozen=True)
class PushInput:
    integration_id: uuid.UUID | None  # None: the company's only push connection
    invoice_id: uuid.UUID
    phone: str | None = None  # defaults to the invoice customer's phone
    amount_minor: int | None = None  # defaults to the invoice balance


@dataclass(frozen=True)
class PushResult:
    request_id: uuid.UUID
    ok: bool
    message: str
    fix: str | None = None


def push_integrations(session: Session, actor: Principal) -> list[Integration]:
    """Connections that can request payment from a phone."""
    rows = IntegrationRepository(session, actor.company_id).listing(
        [Category.PAYMENTS.value]
    )
    usable = []
    for row in rows:
        try:
            rail = rail_for(row.provider)
        except LookupError:
            continue
        if row.status != IntegrationStatus.PAUSED and rail.can_push(_safe_config(row)):
            usable.append(row)
    return usable


def _safe_config(integration: Integration) -> dict[str, object]:
    # ``can_push`` only needs to know which secrets exist, not their values.
    config: dict[str, object] = dict(integration.config or {})
    if integration.credentials:
        config["passkey"] = config.get("passkey") or "set"
    return config


def request_payment(runtime: Runtime, actor: Principal, push: PushInput) -> PushResult:
    """Ask the customer's phone to pay an invoice. Never raises for a
    provider refusal: the result says what happened and what to do."""
    actor.require_admin("request payments")
    request_id, integration_id, order = _prepare(runtime, actor, push)
    ack: PushAck | None = None
    error: ProviderError | None = None
    try:
        ack = _send(runtime, actor.company_id, integration_id, order)
    except ProviderError as exc:
        error = exc
    return _record(runtime, actor.company_id, request_id, ack, error)


def _prepare(
    runtime: Runtime, actor: Principal, push: PushInput
) -> tuple[uuid.UUID, uuid.UUID, PushOrder]:
    with runtime.db.transaction(actor.company_id, user_id=actor.user_id) as session:
        company = session.get(Company, actor.company_id)
        assert company is not None
        invoice = InvoiceRepository(session, actor.company_id).get_or_404(
            push.invoice_id
        )
        integration = _connection(session, actor, push.integration_id)
        rail = rail_for(integration.provider)
        if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID):
            raise Conflict(
                f"Invoice {invoice.number} is {invoice.status.replace('_', ' ')}.",
                fix="Only open invoices can be paid.",
            )
        currency = rail.currency(integration.config or {}) or invoice.currency
        if currency != invoice.currency:
            raise InvalidInput(
                f"{get_provider(integration.provider).name} takes {currency}; "
                f"invoice {invoice.number} is in {invoice.currency}.",
                fix="Use a payment connection in the invoice's currency.",
            )
        amount = (
            push.amount_minor if push.amount_minor is not None else balance_of(invoice)
        )
        if amount <= 0 or amount > balance_of(invoice):
            raise InvalidInput(
                f"Ask for an amount between 1 and {format_money(balance_of(invoice), currency)}.",
                field="amount",
            )
        customer = (
            session.get(Customer, invoice.customer_id) if invoice.customer_id else None
        )
        phone = normalise_phone(
            push.phone or (customer.phone if customer else None), company.country
        )
        if phone is None:
            raise InvalidInput(
                "Enter the customer's phone number, e.g. 0712 345 678.", field="phone"
            )
        key = uuid.uuid4().hex
        reference = f"{SENDING_PREFIX}{key}"
        row = PaymentRequestRepository(session, actor.company_id).add(
            PaymentRequest(
                id=uuid.uuid4(),
                integration_id=integration.id,
                provider=integration.provider,
                origin=RequestOrigin.PUSH.value,
                reference=reference,
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                phone=phone,
                amount_minor=amount,
                currency=currency,
                account_reference=invoice.payment_reference or invoice.number,
                status=RequestStatus.SENDING.value,
                claimed={},
                checks=0,
                requested_by=actor.user_id,
                next_check_at=utcnow() + FIRST_CHECK,
            )
        )
        audit.record(
            session,
            actor,
            "payment.request",
            f"Asked {display_phone(phone, company.country)} to pay "
            f"{format_money(amount, currency)} for invoice {invoice.number}.",
            target_type="invoice",
            target_id=invoice.id,
            after={"integration": integration.name, "amount_minor": amount},
        )
        order = PushOrder(
            reference=key,
            account_reference=row.account_reference or invoice.number,
            phone=phone,
            amount_minor=amount,
            currency=currency,
            description=f"Invoice {invoice.number}",
            callback_url=urls.hook_url(runtime.settings.base_url, integration),
        )
        return row.id, integration.id, order


def _connection(
    session: Session, actor: Principal, integration_id: uuid.UUID | None
) -> Integration:
    if integration_id is None:
        usable = push_integrations(session, actor)
        if len(usable) != 1:
            raise InvalidInput(
                "Choose which connection should ask for the payment.",
                fix="Connect M-Pesa, Airtel Money or Tigo Pesa first."
                if not usable
                else "Pick one of your payment connections.",
                field="integration_id",
            )
        return usable[0]
    integration = IntegrationRepository(session, actor.company_id).get(integration_id)
    if integration is None:
        raise NotFound("No such payment connection.", fix="Pick one from the list.")
    return integration


def _send(
    runtime: Runtime, company_id: uuid.UUID, integration_id: uuid.UUID, order: PushOrder
) -> PushAck:
    with runtime.db.transaction(company_id, write=False) as session:
        integration = session.get(Integration, integration_id)
        company = session.get(Company, company_id)
        assert integration is not None
        assert company is not None
    try:
        with payment_context(runtime, integration, company) as ctx:
            return rail_for(integration.provider).push(ctx, order)
    except CopccaError as exc:  # the stored credentials cannot be opened
        raise ProviderError(exc.message, fix=exc.fix) from exc


def _record(
    runtime: Runtime,
    company_id: uuid.UUID,
    request_id: uuid.UUID,
    ack: PushAck | None,
    error: ProviderError | None,
) -> PushResult:
    with runtime.db.transaction(company_id) as session:
        company = session.get(Company, company_id)
        row = PaymentRequestRepository(session, company_id).locked(request_id)
        assert company is not None
        assert row is not None
        name = logs.provider_name(row.provider)
        what = f"{format_money(row.amount_minor, row.currency)} from {display_phone(row.phone, company.country)}"
        if error is not None or ack is None:
            message = error.message if error else "No answer."
            if row.status == RequestStatus.SENDING.value:
                row.status = RequestStatus.FAILED.value
                row.result_desc = message[:500]
                row.next_check_at = None
            logs.write(
                session,
                company_id,
                provider=row.provider,
                integration_id=row.integration_id,
                kind="payment_request",
                trigger="manual",
                status=SyncStatus.FAILED,
                message=f"Could not ask for {what} on {name}: {message}",
                failed=1,
                error_kind=error.kind if error else "transient",
                fix=error.fix if error else None,
            )
            return PushResult(row.id, False, message, error.fix if error else None)
        row.reference = ack.reference[:100]
        row.claimed = {**(row.claimed or {}), "ack": ack.extra}
        if row.status == RequestStatus.SENDING.value:
            row.status = RequestStatus.PENDING.value
        logs.write(
            session,
            company_id,
            provider=row.provider,
            integration_id=row.integration_id,
            kind="payment_request",
            trigger="manual",
            status=SyncStatus.SUCCESS,
            message=f"Asked for {what} on {name}; waiting for the customer to approve.",
            details={"request_id": str(row.id)},
        )
        live = (
            session.get(Integration, row.integration_id) if row.integration_id else None
        )
        intake.adopt_orphan(session, company, row, live)
        return PushResult(
            row.id,
            True,
            ack.message or "The customer has the payment prompt on their phone.",
        )
