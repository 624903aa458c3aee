"""Sync Logs rows for every callback and status check, in words a shop
owner reads: "KSh 1,500 from 0712 345678 matched to invoice INV-0042"."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from copcca.connectors.registry import get_provider
from copcca.crm.money import format_money
from copcca.crm.phones import display_phone
from copcca.models.crm import Invoice, Payment
from copcca.models.integrations import SyncLog, SyncStatus
from copcca.models.payments import PaymentRequest
from copcca.sync.logs import finish_log, start_log

# Why a callback was not credited, in words, with what to do.
REVIEW_REASONS: dict[str, tuple[str, str]] = {
    "unknown_request": (
        "it answers a payment request we never made",
        "If you know this payment, record it from your statement; otherwise dismiss it.",
    ),
    "amount_mismatch": (
        "the amount does not match what the provider confirmed",
        "Compare it with your statement. Only the confirmed amount can be recorded.",
    ),
    "phone_mismatch": (
        "it came from another phone than the one we asked",
        "Check with the customer before recording it.",
    ),
    "shortcode_mismatch": (
        "it is for another paybill or till number",
        "Check the number in this connection's settings.",
    ),
    "currency_mismatch": (
        "it is in another currency than this connection receives",
        "Record it by hand if it is genuine.",
    ),
    "not_confirmed": (
        "the provider did not confirm the payment",
        "Nothing was credited. Dismiss it unless your statement shows it.",
    ),
    "unverified": (
        "we cannot ask the provider to confirm it",
        "Add the API initiator to this connection, or confirm it from your statement.",
    ),
    "status_timeout": (
        "the provider never answered our checks",
        "Check your statement; record the payment if it is there.",
    ),
    "conflicting_claim": (
        "another callback said something different about the same receipt",
        "Only the version the provider confirms is recorded.",
    ),
}


def who(phone: str | None, name: str | None, region: str) -> str:
    shown = display_phone(phone, region) if phone else ""
    return shown or (name or "").strip() or "an unknown payer"


def provider_name(key: str) -> str:
    try:
        return get_provider(key).name
    except Exception:  # an unknown key still deserves a log line
        return key


def write(
    session: Session,
    company_id: uuid.UUID,
    *,
    provider: str,
    integration_id: uuid.UUID | None,
    kind: str,
    status: SyncStatus,
    message: str,
    trigger: str = "webhook",
    created: int = 0,
    updated: int = 0,
    skipped: int = 0,
    failed: int = 0,
    error_kind: str | None = None,
    fix: str | None = None,
    details: dict[str, Any] | None = None,
) -> SyncLog:
    """One finished log row for one callback or one status check."""
    log = start_log(
        session,
        company_id,
        provider=provider,
        integration_id=integration_id,
        kind=kind,
        trigger=trigger,
        stream="payments",
        message=message,
    )
    finish_log(
        log,
        status=status,
        message=message,
        created=created,
        updated=updated,
        skipped=skipped,
        failed=failed,
        error_kind=error_kind,
        fix=fix,
    )
    log.details = details or {}
    return log


def payment_words(
    payment: Payment, applied: list[tuple[Invoice, int]], region: str
) -> str:
    money = format_money(payment.amount_minor, payment.currency)
    source = who(payment.payer_phone, payment.payer_name, region)
    if applied:
        numbers = ", ".join(i.number for i, _ in applied)
        label = "invoices" if len(applied) > 1 else "invoice"
        text = f"{money} from {source} matched to {label} {numbers}."
        if payment.unallocated_minor:
            left = format_money(payment.unallocated_minor, payment.currency)
            text += f" {left} is left over as credit."
        return text
    if payment.status == "needs_review":
        return f"{money} from {source} received; it waits in Needs your attention."
    return f"{money} from {source} received."


def claim_words(request: PaymentRequest, region: str) -> str:
    money = format_money(request.amount_minor, request.currency)
    hint = str((request.claimed or {}).get("phone_hint") or "")
    source = (
        who(request.phone, None, region)
        if request.phone
        else (hint or "an unknown payer")
    )
    return f"{money} from {source}"


def quarantine_words(request: PaymentRequest, region: str) -> tuple[str, str]:
    reason, fix = REVIEW_REASONS.get(
        request.review_reason or "", ("it could not be checked", "Review it by hand.")
    )
    return (
        f"A callback about {claim_words(request, region)} was not credited: {reason}.",
        fix,
    )
