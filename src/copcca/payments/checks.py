"""Status checks: ask the provider what happened to an open request.

Three steps so no database transaction is held while the provider thinks:
read what to ask (read-only), ask (no transaction), apply the answer under
a row lock (only if the request is still open: a callback may have settled
it meanwhile, and then nothing changes). The periodic sweep settles
payments whose callback never came (promise P5).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from copcca.connectors.errors import ProviderError
from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.errors import VaultError
from copcca.models.integrations import Integration
from copcca.models.payments import PaymentRequest
from copcca.models.tenancy import Company
from copcca.payments import answers, urls
from copcca.payments.context import payment_context
from copcca.payments.rails import PaymentRail, RequestFacts, StatusAnswer
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.settle import is_open, quarantine
from copcca.runtime import Runtime

log = logging.getLogger("copcca.payments")
LEASE = timedelta(minutes=2)  # a swept request is not swept again meanwhile


def rail_for(provider: str) -> PaymentRail:
    info = get_provider(provider)
    cls = info.connector
    if cls is None or not issubclass(cls, PaymentRail):
        raise LookupError(f"{provider} has no payment connector")
    rail: PaymentRail = cls()
    return rail


def facts_of(
    request: PaymentRequest, integration: Integration, base_url: str
) -> RequestFacts:
    hook = urls.hook_url(base_url, integration)
    return RequestFacts(
        origin=request.origin,
        reference=request.reference,
        amount_minor=request.amount_minor,
        currency=request.currency,
        receipt=request.receipt,
        phone=request.phone,
        account_reference=request.account_reference,
        created_at=request.created_at,
        result_url=hook,
        timeout_url=hook,
    )


@dataclass(frozen=True)
class _Asked:
    answer: StatusAnswer | None
    error: ProviderError | None


def check_request(
    runtime: Runtime, company_id: uuid.UUID, request_id: uuid.UUID
) -> None:
    """Ask the provider about one request and apply the answer."""
    with runtime.db.transaction(company_id, write=False) as session:
        request = PaymentRequestRepository(session, company_id).get(request_id)
        company = session.get(Company, company_id)
        if request is None or company is None or not is_open(request):
            return
        integration = (
            session.get(Integration, request.integration_id)
            if request.integration_id
            else None
        )
        facts = (
            facts_of(request, integration, runtime.settings.base_url)
            if integration is not None
            else None
        )
    asked = _ask(runtime, integration, company, facts)
    with runtime.db.transaction(company_id) as session:
        request = PaymentRequestRepository(session, company_id).locked(request_id)
        company = session.get(Company, company_id)
        if request is None or company is None or not is_open(request):
            return
        live = (
            session.get(Integration, request.integration_id)
            if request.integration_id
            else None
        )
        if live is None:
            quarantine(
                session,
                company,
                request,
                "unverified",
                note="The connection was removed before the payment could be checked.",
            )
        elif asked.error is not None:
            answers.check_failed(
                session,
                company,
                request,
                asked.error.message,
                asked.error.fix,
                asked.error.kind,
            )
        elif asked.answer is not None:
            answers.apply_answer(
                session, company, request, asked.answer, integration=live
            )


def _ask(
    runtime: Runtime,
    integration: Integration | None,
    company: Company,
    facts: RequestFacts | None,
) -> _Asked:
    if integration is None or facts is None:
        return _Asked(None, None)
    try:
        rail = rail_for(integration.provider)
        with payment_context(runtime, integration, company) as ctx:
            return _Asked(rail.status(ctx, facts), None)
    except ProviderError as exc:
        log.info("status check failed: %s %s", integration.provider, exc.kind)
        return _Asked(None, exc)
    except VaultError as exc:
        return _Asked(None, ProviderError(exc.message, fix=exc.fix))


def due_requests(
    runtime: Runtime, company_id: uuid.UUID, now: datetime
) -> list[uuid.UUID]:
    """Claim the company's requests whose check is due (lease them)."""
    with runtime.db.transaction(company_id) as session:
        rows = PaymentRequestRepository(session, company_id).due(now)
        for row in rows:
            row.next_check_at = now + LEASE
        return [row.id for row in rows]


def sweep(
    runtime: Runtime, *, now: datetime | None = None, inline: bool = False
) -> int:
    """Check every due request of every company. Returns how many."""
    now = now or utcnow()
    with runtime.db.transaction(write=False) as session:
        companies = list(session.scalars(select(Company.id)))
    count = 0
    for company_id in companies:
        for request_id in due_requests(runtime, company_id, now):
            count += 1
            if inline:
                check_request(runtime, company_id, request_id)
            else:
                from copcca.payments.tasks import check_request_job

                check_request_job(str(company_id), str(request_id))
    return count
