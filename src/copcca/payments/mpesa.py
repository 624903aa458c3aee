"""M-Pesa actions from the integration page: register the C2B addresses,
send a sandbox test payment, check the balance; and the C2B validation
answer, which Daraja needs within seconds.

Each action reads what it needs, calls Daraja with no transaction open,
then writes its result and an audit entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.connectors.base import ConnectorContext
from copcca.connectors.errors import ProviderError
from copcca.connectors.mpesa import mapping, webhooks
from copcca.connectors.mpesa.connector import client_for
from copcca.crm.invoices import OPEN_STATUSES, normalise_reference
from copcca.crm.money import format_money
from copcca.crm.phones import normalise_phone
from copcca.db.base import utcnow
from copcca.errors import CopccaError, InvalidInput, NotFound
from copcca.integrations.repository import IntegrationRepository
from copcca.models.crm import Invoice
from copcca.models.integrations import Integration, SyncLog, SyncStatus
from copcca.models.tenancy import Company
from copcca.payments import logs, urls
from copcca.payments.context import payment_context
from copcca.payments.intake import BALANCE_KIND
from copcca.payments.rails import Reply
from copcca.runtime import Runtime
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync.logs import finish_log, start_log


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    fix: str | None = None


def _load(
    runtime: Runtime, actor: Principal, integration_id: uuid.UUID
) -> tuple[Integration, Company]:
    actor.require_admin("manage M-Pesa")
    with runtime.db.transaction(actor.company_id, write=False) as session:
        integration = IntegrationRepository(session, actor.company_id).get(
            integration_id
        )
        company = session.get(Company, actor.company_id)
    if integration is None or integration.provider != "mpesa" or company is None:
        raise NotFound(
            "No such M-Pesa connection.", fix="Open it from Connect Systems."
        )
    return integration, company


def _call(
    runtime: Runtime, integration: Integration, company: Company, action: Any
) -> tuple[Any, ProviderError | None]:
    try:
        with payment_context(runtime, integration, company) as ctx:
            return action(ctx), None
    except ProviderError as exc:
        return None, exc
    except CopccaError as exc:  # the sealed credentials cannot be opened
        return None, ProviderError(exc.message, fix=exc.fix)


def _finish(
    runtime: Runtime,
    actor: Principal,
    integration: Integration,
    action: str,
    message: str,
    error: ProviderError | None,
) -> ActionResult:
    with runtime.db.transaction(actor.company_id, user_id=actor.user_id) as session:
        status = SyncStatus.FAILED if error else SyncStatus.SUCCESS
        text = f"{message} {error.message}" if error else message
        logs.write(
            session,
            actor.company_id,
            provider="mpesa",
            integration_id=integration.id,
            kind=action,
            trigger="manual",
            status=status,
            message=text,
            failed=int(error is not None),
            error_kind=error.kind if error else None,
            fix=error.fix if error else None,
        )
        audit.record(
            session,
            actor,
            f"mpesa.{action}",
            text,
            target_type="integration",
            target_id=integration.id,
        )
    if error:
        return ActionResult(False, text, error.fix)
    return ActionResult(True, message)


def _rotate_if_refused(
    runtime: Runtime, actor: Principal, integration: Integration
) -> Integration:
    """Safaricom refuses addresses containing words like "sql" or "cmd"; a
    random token that happens to contain one is replaced before registering."""
    if not urls.forbidden_word(integration.callback_token or ""):
        return integration
    from copcca.webhooks.inbound.tokens import new_token as new_callback_token

    with runtime.db.transaction(actor.company_id, user_id=actor.user_id) as session:
        live = IntegrationRepository(session, actor.company_id).get_or_404(
            integration.id
        )
        while urls.forbidden_word(live.callback_token or ""):
            live.callback_token = new_callback_token(actor.company_id)
        return live


def register_c2b_urls(
    runtime: Runtime, actor: Principal, integration_id: uuid.UUID
) -> ActionResult:
    """Tell Daraja where to send paybill/till confirmations and validations."""
    integration, company = _load(runtime, actor, integration_id)
    integration = _rotate_if_refused(runtime, actor, integration)
    addresses = urls.c2b_urls(runtime.settings.base_url, integration)
    word = urls.forbidden_word(runtime.settings.base_url)
    production = integration.config.get("environment") == "production"
    if word or (production and not runtime.settings.base_url.startswith("https://")):
        raise InvalidInput(
            "Safaricom only accepts https addresses without words such as "
            f"'{word or 'mpesa'}' in them.",
            fix="Serve the hub on an https address (COPCCA_BASE_URL) first.",
        )
    reject = bool(integration.config.get("reject_unknown_accounts"))
    _, error = _call(
        runtime,
        integration,
        company,
        lambda ctx: client_for(ctx).register_urls(
            confirmation_url=addresses["confirmation"],
            validation_url=addresses["validation"],
            reject_unknown=reject,
        ),
    )
    return _finish(
        runtime,
        actor,
        integration,
        "register_urls",
        "Registered the payment addresses with M-Pesa."
        if error is None
        else "Could not register the payment addresses.",
        error,
    )


def simulate_c2b(
    runtime: Runtime,
    actor: Principal,
    integration_id: uuid.UUID,
    amount_minor: int,
    phone: str,
    account: str,
) -> ActionResult:
    """Sandbox only: ask Daraja to send a paybill payment, as a customer would."""
    integration, company = _load(runtime, actor, integration_id)
    if integration.config.get(
        "environment"
    ) == "production" and not integration.config.get("api_base_url"):
        raise InvalidInput(
            "Test payments only work in the sandbox.",
            fix="Pay from a real phone to test production.",
        )
    e164 = normalise_phone(phone, company.country)
    if e164 is None or amount_minor <= 0 or amount_minor % 100:
        raise InvalidInput(
            "Enter a phone number and a whole-shilling amount.", field="amount"
        )
    _, error = _call(
        runtime,
        integration,
        company,
        lambda ctx: client_for(ctx).c2b_simulate(
            amount_minor=amount_minor, phone=e164, bill_ref=account
        ),
    )
    money = format_money(amount_minor, mapping.CURRENCY)
    return _finish(
        runtime,
        actor,
        integration,
        "test_payment",
        f"Sent a sandbox payment of {money} to account {account}."
        if error is None
        else "Could not send the sandbox payment.",
        error,
    )


def check_balance(
    runtime: Runtime, actor: Principal, integration_id: uuid.UUID
) -> ActionResult:
    """Ask Daraja for the balance; the answer arrives by callback and shows
    on the integration page."""
    integration, company = _load(runtime, actor, integration_id)
    with runtime.db.transaction(actor.company_id, user_id=actor.user_id) as session:
        log = start_log(
            session,
            actor.company_id,
            provider="mpesa",
            integration_id=integration.id,
            kind=BALANCE_KIND,
            trigger="manual",
            message="Asked M-Pesa for the balance.",
        )
        session.flush()
        log_id = log.id
    hook = urls.hook_url(runtime.settings.base_url, integration)

    def ask(ctx: ConnectorContext) -> Any:
        return client_for(ctx).account_balance(result_url=hook, timeout_url=hook)

    answer, error = _call(runtime, integration, company, ask)
    with runtime.db.transaction(actor.company_id, user_id=actor.user_id) as session:
        live = session.get(SyncLog, log_id)
        assert live is not None
        if error is not None:
            finish_log(
                live,
                status=SyncStatus.FAILED,
                message=f"Could not ask M-Pesa for the balance. {error.message}",
                failed=1,
                error_kind=error.kind,
                fix=error.fix,
            )
            return ActionResult(False, error.message, error.fix)
        if live.status == SyncStatus.RUNNING.value:
            live.details = {"conversation_id": str(answer["ConversationID"])}
    return ActionResult(
        True, "Asked M-Pesa for the balance; it shows here in a moment."
    )


def latest_balance(
    session: Session, company_id: uuid.UUID, integration_id: uuid.UUID
) -> SyncLog | None:
    row: SyncLog | None = session.scalars(
        select(SyncLog)
        .where(
            SyncLog.company_id == company_id,
            SyncLog.integration_id == integration_id,
            SyncLog.kind == BALANCE_KIND,
        )
        .order_by(SyncLog.started_at.desc())
        .limit(1)
    ).first()
    return row


# ---------------------------------------------------------------- validation
def validate_c2b(
    session: Session, company: Company, integration: Integration, body: bytes
) -> Reply:
    """Accept or reject a paybill payment before it happens (providers.md
    §1.4). Only a wrong shortcode, or (if the owner chose so) an account
    number that names no open invoice, is rejected."""
    try:
        payment = mapping.parse_c2b(mapping.load(body))
    except ProviderError:
        return webhooks.REJECT_OTHER
    config = integration.config or {}
    codes = {str(v) for v in (config.get("shortcode"), config.get("store_number")) if v}
    if payment.shortcode and payment.shortcode not in codes:
        _log_rejection(
            session, company, integration, payment, "it is for another number"
        )
        return webhooks.REJECT_SHORTCODE
    if config.get("reject_unknown_accounts") and not _known_account(
        session, company.id, payment.bill_ref
    ):
        _log_rejection(
            session,
            company,
            integration,
            payment,
            f"account '{payment.bill_ref}' is unknown",
        )
        return webhooks.REJECT_ACCOUNT
    return webhooks.VALIDATION_OK


def _known_account(session: Session, company_id: uuid.UUID, account: str) -> bool:
    wanted = normalise_reference(account)
    if not wanted:
        return False
    rows = session.execute(
        select(Invoice.payment_reference, Invoice.number).where(
            Invoice.company_id == company_id, Invoice.status.in_(OPEN_STATUSES)
        )
    ).all()
    return any(
        wanted in (normalise_reference(ref), normalise_reference(number))
        for ref, number in rows
    )


def _log_rejection(
    session: Session,
    company: Company,
    integration: Integration,
    payment: mapping.C2BPayment,
    why: str,
) -> None:
    logs.write(
        session,
        company.id,
        provider="mpesa",
        integration_id=integration.id,
        kind="validation",
        status=SyncStatus.SKIPPED,
        message=(
            f"Turned away a payment of {format_money(payment.amount_minor, mapping.CURRENCY)}"
            f": {why}. M-Pesa returned the money to the customer."
        ),
        skipped=1,
        details={"trans_id": payment.trans_id, "at": utcnow().isoformat()},
    )
