"""The audit log: who did what, with before/after values and secrets masked."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.db.repository import TenantRepository
from copcca.models.audit import AuditEntry
from copcca.security.principal import Principal

MASK = "••••••"
_SECRET_WORDS = (
    "secret",
    "password",
    "token",
    "passkey",
    "apikey",
    "api_key",
    "credential",
    "private",
    "signature",
    "hash",
    "consumer_key",
    "client_key",
)


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def mask(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy with every secret-looking value replaced, at any depth."""
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if is_secret_field(key):
            out[key] = MASK if value not in (None, "") else value
        elif isinstance(value, dict):
            out[key] = mask(value)
        else:
            out[key] = value
    return out


class AuditRepository(TenantRepository[AuditEntry]):
    model = AuditEntry
    noun = "audit entry"

    def recent(
        self, *, limit: int = 50, offset: int = 0, action: str | None = None
    ) -> Sequence[AuditEntry]:
        stmt = self.select()
        if action:
            stmt = stmt.where(AuditEntry.action.startswith(action))
        stmt = stmt.order_by(AuditEntry.created_at.desc()).limit(limit).offset(offset)
        return self.all(stmt)


def record(
    session: Session,
    actor: Principal,
    action: str,
    summary: str,
    *,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    entry = AuditEntry(
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        summary=summary,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=mask(before),
        after=mask(after),
        ip=ip,
    )
    if at is not None:
        entry.created_at = at
    return AuditRepository(session, actor.company_id).add(entry)


def entries_for(session: Session, company_id: uuid.UUID) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.company_id == company_id)
    return session.scalars(stmt.order_by(AuditEntry.created_at)).all()
