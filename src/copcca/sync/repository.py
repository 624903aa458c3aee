"""Cursors per stream and records a shop owner chose to skip."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select

from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.models.integrations import SyncState
from copcca.models.sync import SyncSkip


class SyncStateRepository(TenantRepository[SyncState]):
    model = SyncState
    noun = "sync cursor"

    def row(self, integration_id: uuid.UUID, stream: str) -> SyncState | None:
        stmt = self.select().where(
            SyncState.integration_id == integration_id, SyncState.stream == stream
        )
        found: SyncState | None = self.session.scalars(stmt).first()
        return found

    def cursor(self, integration_id: uuid.UUID, stream: str) -> dict[str, Any]:
        row = self.row(integration_id, stream)
        return dict(row.cursor) if row is not None else {}

    def save(
        self, integration_id: uuid.UUID, stream: str, cursor: dict[str, Any]
    ) -> None:
        """Store the cursor in the caller's unit of work (with its page, J2)."""
        row = self.row(integration_id, stream)
        if row is None:
            self.add(
                SyncState(integration_id=integration_id, stream=stream, cursor=cursor)
            )
        else:
            row.cursor = dict(cursor)
            row.updated_at = utcnow()

    def all_for(self, integration_id: uuid.UUID) -> dict[str, dict[str, Any]]:
        stmt = self.select().where(SyncState.integration_id == integration_id)
        return {row.stream: dict(row.cursor) for row in self.session.scalars(stmt)}

    def reset(self, integration_id: uuid.UUID) -> None:
        """Forget every cursor: the next sync reads everything again (J3 keeps
        that harmless)."""
        self.session.execute(
            delete(SyncState).where(
                SyncState.company_id == self.company_id,
                SyncState.integration_id == integration_id,
            )
        )


class SyncSkipRepository(TenantRepository[SyncSkip]):
    model = SyncSkip
    noun = "skipped record"

    def keys(self, integration_id: uuid.UUID, stream: str) -> set[str]:
        stmt = select(SyncSkip.record_key).where(
            SyncSkip.company_id == self.company_id,
            SyncSkip.integration_id == integration_id,
            SyncSkip.stream == stream,
        )
        return set(self.session.scalars(stmt))

    def skip(
        self,
        integration_id: uuid.UUID,
        stream: str,
        record_key: str,
        *,
        label: str | None,
        reason: str | None,
        user_id: uuid.UUID | None,
    ) -> SyncSkip:
        existing = self.session.scalars(
            self.select().where(
                SyncSkip.integration_id == integration_id,
                SyncSkip.stream == stream,
                SyncSkip.record_key == record_key,
            )
        ).first()
        if existing is not None:
            found: SyncSkip = existing
            return found
        return self.add(
            SyncSkip(
                integration_id=integration_id,
                stream=stream,
                record_key=record_key[:255],
                label=(label or "")[:300] or None,
                reason=reason,
                created_by=user_id,
            )
        )
