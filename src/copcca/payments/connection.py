"""What a payment connection's page shows instead of sync controls.

Payment providers call us; nothing is pulled on a schedule, so "Sync now"
and a sync frequency mean nothing for them. Their page shows what does:
when the last callback arrived, the latest M-Pesa balance, and whether
payment can be requested from an invoice (and from which open invoices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.crm.invoices import InvoiceRepository
from copcca.models.crm import Invoice
from copcca.models.integrations import Integration, SyncLog
from copcca.payments.intake import BALANCE_KIND
from copcca.payments.requests import push_integrations
from copcca.security.principal import Principal
from copcca.webhooks.inbound.repository import InboxRepository

INVOICES_OFFERED = 50


@dataclass(frozen=True)
class ConnectionFacts:
    last_callback_at: datetime | None
    balance: SyncLog | None
    can_request: bool
    open_invoices: Sequence[Invoice] = field(default_factory=list)


def facts(
    session: Session, actor: Principal, integration: Integration
) -> ConnectionFacts:
    """The facts for one payment connection's page (read only)."""
    last = InboxRepository(session, actor.company_id).last_received(integration.id)
    balance = session.scalars(
        select(SyncLog)
        .where(
            SyncLog.company_id == actor.company_id,
            SyncLog.integration_id == integration.id,
            SyncLog.kind == BALANCE_KIND,
        )
        .order_by(SyncLog.started_at.desc())
        .limit(1)
    ).first()
    can_request = any(p.id == integration.id for p in push_integrations(session, actor))
    invoices: Sequence[Invoice] = []
    if can_request:
        invoices = InvoiceRepository(session, actor.company_id).open_invoices(
            limit=INVOICES_OFFERED
        )
    return ConnectionFacts(last, balance, can_request, invoices)
