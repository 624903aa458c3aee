"""The outbox: record what happened in the same transaction as the change.

Rules and outbound webhooks read ``events`` rows later; because an event is
committed with its change or not at all, neither can exist without the other
(promise P7).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.models.webhooks import Event

# Event types are dot-separated, per Standard Webhooks.
KNOWN_TYPES = frozenset(
    {
        "customer.created",
        "customer.updated",
        "product.created",
        "product.updated",
        "sale.created",
        "sale.updated",
        "invoice.created",
        "invoice.paid",
        "payment.received",
        "payment.matched",
        "payment.needs_review",
        "payment.refunded",
        "import.finished",
        "integration.connected",
        "integration.failed",
    }
)


def values(
    company_id: uuid.UUID,
    type_: str,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event row's values, for writers that insert many rows at once."""
    if type_ not in KNOWN_TYPES:
        raise ValueError(f"unknown event type {type_!r}; add it to KNOWN_TYPES")
    return {
        "id": uuid.uuid4(),
        "company_id": company_id,
        "type": type_,
        "entity": entity,
        "entity_id": entity_id,
        "data": data or {},
        "created_at": utcnow(),
    }


def emit(
    session: Session,
    company_id: uuid.UUID,
    type_: str,
    *,
    entity: str | None = None,
    entity_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event row to the caller's unit of work."""
    if type_ not in KNOWN_TYPES:
        raise ValueError(f"unknown event type {type_!r}; add it to KNOWN_TYPES")
    event = Event(
        company_id=company_id,
        type=type_,
        entity=entity,
        entity_id=entity_id,
        data=data or {},
    )
    session.add(event)
    return event
