"""Queries over one company's webhook inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from copcca.db.repository import TenantRepository
from copcca.models.integrations import WebhookInbox


class InboxStatus:
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"  # an event type we do not use: stored, acknowledged (W10)
    FAILED = "failed"
    SKIPPED = "skipped"  # a failed event the shop owner chose to leave out


class InboxRepository(TenantRepository[WebhookInbox]):
    model = WebhookInbox
    noun = "webhook event"

    def insert_once(self, values: dict[str, Any]) -> bool:
        """Insert unless (company, provider, event id) exists (W7)."""
        dialect = postgresql if _is_postgres(self.session) else sqlite
        stmt = (
            dialect.insert(WebhookInbox)
            .values(company_id=self.company_id, **values)
            .on_conflict_do_nothing(
                index_elements=["company_id", "provider", "event_id"]
            )
            .returning(WebhookInbox.id)
        )
        return self.session.execute(stmt).scalar_one_or_none() is not None

    def insert_many_once(self, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        """``insert_once`` for many rows in one statement; the ids stored
        (a row whose event is already there is left out, W7)."""
        if not rows:
            return set()
        table = WebhookInbox.__table__
        assert isinstance(table, Table)
        dialect = postgresql if _is_postgres(self.session) else sqlite
        stmt = (
            dialect.insert(table)  # type: ignore[attr-defined]
            .on_conflict_do_nothing(
                index_elements=["company_id", "provider", "event_id"]
            )
            .returning(table.c.id)
        )
        # executemany with RETURNING: SQLAlchemy sends batched multi-row
        # INSERTs ("insertmanyvalues") from one cached compiled statement.
        params = [{**row, "company_id": self.company_id} for row in rows]
        return set(self.session.execute(stmt, params).scalars())

    def pending(self, integration_id: uuid.UUID, limit: int) -> Sequence[WebhookInbox]:
        stmt = (
            self.select()
            .where(
                WebhookInbox.integration_id == integration_id,
                WebhookInbox.status == InboxStatus.PENDING,
            )
            .order_by(WebhookInbox.received_at, WebhookInbox.id)
            .limit(limit)
        )
        return self.all(stmt)

    def all_pending(self, limit: int = 1000) -> Sequence[WebhookInbox]:
        stmt = self.select().where(WebhookInbox.status == InboxStatus.PENDING)
        return self.all(stmt.order_by(WebhookInbox.received_at).limit(limit))

    def last_received(self, integration_id: uuid.UUID) -> datetime | None:
        """When the newest delivery for this integration arrived, if any."""
        stmt = select(func.max(WebhookInbox.received_at)).where(
            WebhookInbox.company_id == self.company_id,
            WebhookInbox.integration_id == integration_id,
        )
        found: datetime | None = self.session.scalar(stmt)
        return found

    def take(self, row_id: uuid.UUID, status: str, at: datetime) -> bool:
        """Move a pending row to ``status``; False if another job already did
        (the exactly-once guard of processing)."""
        result = self.session.execute(
            update(WebhookInbox)
            .where(
                WebhookInbox.company_id == self.company_id,
                WebhookInbox.id == row_id,
                WebhookInbox.status == InboxStatus.PENDING,
            )
            .values(
                status=status,
                processed_at=at,
                attempts=WebhookInbox.attempts + 1,
            )
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
