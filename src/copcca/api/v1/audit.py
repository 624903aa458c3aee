"""The audit log, for owners and admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from copcca.api.deps import PrincipalDep, SessionDep
from copcca.api.errors import AUTH_ERRORS
from copcca.security.audit import AuditRepository

router = APIRouter(prefix="/audit-log", tags=["audit"], responses=AUTH_ERRORS)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    items: list[AuditOut]


@router.get("", response_model=AuditList)
def list_audit(
    session: SessionDep,
    principal: PrincipalDep,
    action: str | None = Query(default=None, max_length=64),
    page: int = Query(default=1, ge=1, le=10_000),
) -> AuditList:
    """Newest first, 50 per page. Secrets are masked."""
    principal.require_admin("see the audit log")
    rows = AuditRepository(session, principal.company_id).recent(
        limit=50, offset=(page - 1) * 50, action=action
    )
    return AuditList(items=[AuditOut.model_validate(r) for r in rows])
