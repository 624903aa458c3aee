"""Import an M-Pesa statement: each completed payment in is recorded once,
by the same rules as callbacks (the receipt number is the key), in one
transaction, so a file that fails leaves nothing half-imported and the
same file imported twice adds nothing (promise F6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from copcca.connectors.mpesa.mapping import CURRENCY, usable_phone
from copcca.connectors.mpesa.statement import Statement, StatementRow, parse_statement
from copcca.errors import NotFound
from copcca.integrations.repository import IntegrationRepository
from copcca.models.integrations import SyncStatus
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.models.tenancy import Company
from copcca.payments import logs
from copcca.payments.answers import shortcodes_of
from copcca.payments.intake import new_request_row
from copcca.payments.rails import Confirmed
from copcca.payments.repository import PaymentRequestRepository
from copcca.payments.settle import Outcome, is_open, settle
from copcca.security import audit
from copcca.security.principal import Principal

# A statement confirms what we could not check with Safaricom.
RESOLVED_BY_STATEMENT = frozenset({"unverified", "status_timeout"})


@dataclass
class StatementResult:
    added: int = 0
    already: int = 0
    held: int = 0
    skipped: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def message(self) -> str:
        parts = [f"{self.added} payments added", f"{self.already} already known"]
        if self.held:
            parts.append(f"{self.held} need your attention")
        if self.skipped:
            parts.append(f"{self.skipped} rows were not money in")
        if self.problems:
            parts.append(f"{len(self.problems)} rows could not be read")
        return "M-Pesa statement: " + ", ".join(parts) + "."


def import_statement(
    session: Session,
    actor: Principal,
    company: Company,
    integration_id: uuid.UUID,
    data: bytes,
) -> StatementResult:
    """Record every payment in the file once; raises ``InvalidInput`` for a
    file that is not an M-Pesa statement (nothing is written then)."""
    actor.require_admin("import M-Pesa statements")
    integration = IntegrationRepository(session, actor.company_id).get(integration_id)
    if integration is None or integration.provider != "mpesa":
        raise NotFound(
            "No such M-Pesa connection.", fix="Open it from Connect Systems."
        )
    statement: Statement = parse_statement(data)
    result = StatementResult(skipped=statement.skipped, problems=statement.problems)
    codes = shortcodes_of(integration)
    for row in statement.rows:
        outcome = record_row(session, company, integration.id, row, codes)
        if outcome is Outcome.CREDITED:
            result.added += 1
        elif outcome is Outcome.ALREADY:
            result.already += 1
        else:
            result.held += 1
    logs.write(
        session,
        company.id,
        provider="mpesa",
        integration_id=integration.id,
        kind="import",
        trigger="manual",
        status=SyncStatus.PARTIAL if result.problems else SyncStatus.SUCCESS,
        message=result.message,
        created=result.added,
        skipped=result.already + result.skipped,
        failed=len(result.problems),
        error_kind="data" if result.problems else None,
        fix="Check those rows in the file; the others were imported."
        if result.problems
        else None,
    )
    audit.record(
        session,
        actor,
        "mpesa.statement_import",
        result.message,
        target_type="integration",
        target_id=integration.id,
    )
    return result


def record_row(
    session: Session,
    company: Company,
    integration_id: uuid.UUID | None,
    row: StatementRow,
    shortcodes: set[str],
) -> Outcome:
    """One statement row, settled like any confirmed M-Pesa payment (the
    Import Center's statement and M-Pesa rows come through here too)."""
    confirmed = Confirmed(
        amount_minor=row.amount_minor,
        currency=CURRENCY,
        receipt=row.receipt,
        received_at=row.completed_at,
        phone=usable_phone(row.phone_hint),
        phone_hint=row.phone_hint,
        payer_name=row.payer_name,
        account_reference=row.account,
    )
    repo = PaymentRequestRepository(session, company.id)
    request = repo.locked_by_reference("mpesa", row.receipt)
    if request is None:
        request = new_request_row(
            session,
            company,
            integration_id,
            provider="mpesa",
            reference=row.receipt,
            amount_minor=row.amount_minor,
            currency=CURRENCY,
            phone=confirmed.phone,
            receipt=row.receipt,
            account_reference=row.account,
            claimed={
                "notice": True,
                "statement_line": row.line,
                "phone_hint": row.phone_hint,
            },
        )
        assert request is not None
    elif not _settleable(request):
        return (
            Outcome.ALREADY
            if request.status == RequestStatus.PAID
            else Outcome.QUARANTINED
        )
    else:
        request.status = RequestStatus.CONFIRMING.value
    return settle(
        session, company, request, confirmed, via="statement", shortcodes=shortcodes
    )


def _settleable(request: PaymentRequest) -> bool:
    return is_open(request) or (
        request.status == RequestStatus.NEEDS_REVIEW
        and request.review_reason in RESOLVED_BY_STATEMENT
    )
