"""What to do with the provider's answer about an open request: settle it,
mark it failed or expired, ask again later, or hold it for a person; and
one Sync Logs line per status check, in words."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.session import on_commit
from copcca.models.integrations import Integration, SyncStatus
from copcca.models.payments import PaymentRequest, RequestOrigin, RequestStatus
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.rails import Confirmed, StatusAnswer, Verdict
from copcca.payments.repository import backoff
from copcca.payments.settle import quarantine, settle

MAX_CHECKS = 12  # about 8 hours of backed-off checks before a person decides
PUSH_GIVE_UP = timedelta(minutes=30)  # a prompt nobody answered by then never will
ASYNC_RECHECK = timedelta(minutes=10)  # ask again if a query's answer never comes


def schedule_check(
    session: Session, company_id: uuid.UUID, request_id: uuid.UUID
) -> None:
    """Ask the provider about ``request_id`` right after this commit."""

    def enqueue() -> None:
        from copcca.payments.tasks import check_request_job

        check_request_job(str(company_id), str(request_id))

    on_commit(session, enqueue)


def shortcodes_of(integration: Integration | None) -> set[str]:
    if integration is None:
        return set()
    config = integration.config or {}
    return {str(v) for v in (config.get("shortcode"), config.get("store_number")) if v}


# ---------------------------------------------------------------- answers
def apply_answer(
    session: Session,
    company: Company,
    request: PaymentRequest,
    answer: StatusAnswer,
    *,
    integration: Integration | None = None,
) -> None:
    """Act on what the provider said about an open request (locked)."""
    now = utcnow()
    request.checks += 1
    request.last_checked_at = now
    request.result_code = answer.code or request.result_code
    request.result_desc = (answer.message or request.result_desc or "")[:500]
    if answer.verdict == Verdict.PAID:
        assert answer.confirmed is not None
        confirmed = _with_claimed_receipt(request, answer.confirmed)
        _log_check(session, company, request, "paid", SyncStatus.SUCCESS)
        settle(
            session,
            company,
            request,
            confirmed,
            via=_via(request),
            shortcodes=shortcodes_of(integration),
        )
    elif answer.verdict == Verdict.FAILED:
        _failed(session, company, request, answer)
    elif answer.verdict == Verdict.ASYNC:
        request.status = RequestStatus.CONFIRMING.value
        request.conversation_id = answer.conversation_id
        request.next_check_at = now + ASYNC_RECHECK
        _log_check(session, company, request, "asked", SyncStatus.SUCCESS)
    elif answer.verdict == Verdict.UNVERIFIABLE:
        quarantine(session, company, request, "unverified", note=answer.message)
    else:
        _still_waiting(session, company, request, answer.message)


def _via(request: PaymentRequest) -> str:
    if request.origin == RequestOrigin.PUSH and (request.claimed or {}).get("callback"):
        return "callback"
    return "status_query" if request.origin == RequestOrigin.PUSH else "notice"


def _with_claimed_receipt(request: PaymentRequest, confirmed: Confirmed) -> Confirmed:
    """A push confirmed by a status query carries no receipt; take the one
    the callback named, marked unverified (a later verified notice wins)."""
    claim = (request.claimed or {}).get("callback") or {}
    if (
        request.origin != RequestOrigin.PUSH
        or confirmed.receipt
        or not claim.get("succeeded")
        or not claim.get("receipt")
        or claim.get("amount_minor") not in (None, request.amount_minor)
    ):
        return confirmed
    return replace(confirmed, receipt=str(claim["receipt"]), receipt_verified=False)


def _failed(
    session: Session, company: Company, request: PaymentRequest, answer: StatusAnswer
) -> None:
    if request.origin != RequestOrigin.PUSH:
        quarantine(session, company, request, "not_confirmed", note=answer.message)
        return
    request.status = RequestStatus.FAILED.value
    request.next_check_at = None
    _log_check(session, company, request, "failed", SyncStatus.SUCCESS)


def _still_waiting(
    session: Session, company: Company, request: PaymentRequest, message: str
) -> None:
    now = utcnow()
    age = now - (request.created_at or now)
    if request.origin == RequestOrigin.PUSH and age > PUSH_GIVE_UP:
        request.status = RequestStatus.EXPIRED.value
        request.next_check_at = None
        _log_check(session, company, request, "expired", SyncStatus.SUCCESS)
        return
    if request.checks >= MAX_CHECKS:
        quarantine(session, company, request, "status_timeout", note=message)
        return
    request.next_check_at = now + backoff(request.checks)
    _log_check(session, company, request, "waiting", SyncStatus.SUCCESS)


CHECK_WORDS = {
    "paid": "paid",
    "failed": "not paid",
    "expired": "no answer from the customer; the request expired",
    "waiting": "no final answer yet; we will ask again",
    "asked": "asked to confirm it; the answer comes shortly",
}


def _log_check(
    session: Session,
    company: Company,
    request: PaymentRequest,
    outcome: str,
    status: SyncStatus,
) -> None:
    name = logs.provider_name(request.provider)
    what = logs.claim_words(request, company.country)
    detail = CHECK_WORDS[outcome]
    if outcome == "failed" and request.result_desc:
        detail += f" ({request.result_desc})"
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="status_check",
        trigger="schedule",
        status=status,
        message=f"Checked with {name} about {what}: {detail}.",
        details={"request_id": str(request.id), "outcome": outcome},
    )


def check_failed(
    session: Session,
    company: Company,
    request: PaymentRequest,
    message: str,
    fix: str | None,
    kind: str,
) -> None:
    """The status query itself failed (timeout, throttling): ask again later."""
    now = utcnow()
    request.checks += 1
    request.last_checked_at = now
    if request.checks >= MAX_CHECKS and request.origin == RequestOrigin.NOTICE:
        quarantine(session, company, request, "status_timeout", note=message)
        return
    if request.checks >= MAX_CHECKS:
        request.status = RequestStatus.EXPIRED.value
        request.next_check_at = None
    else:
        request.next_check_at = now + backoff(request.checks)
    name = logs.provider_name(request.provider)
    logs.write(
        session,
        company.id,
        provider=request.provider,
        integration_id=request.integration_id,
        kind="status_check",
        trigger="schedule",
        status=SyncStatus.FAILED,
        message=(
            f"Could not check {logs.claim_words(request, company.country)} with "
            f"{name}: {message} Nothing was credited; we will ask again."
        ),
        failed=1,
        error_kind=kind,
        fix=fix,
        details={"request_id": str(request.id)},
    )
