"""Who the caller is."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from copcca.api.deps import PrincipalDep, SessionDep
from copcca.api.errors import AUTH_ERRORS
from copcca.errors import NotFound
from copcca.models.tenancy import Company

router = APIRouter(tags=["me"], responses=AUTH_ERRORS)


class MeOut(BaseModel):
    company_id: uuid.UUID
    company_name: str
    currency: str
    country: str
    timezone: str
    role: str
    kind: str
    label: str


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, principal: PrincipalDep) -> MeOut:
    company = session.get(Company, principal.company_id)
    if company is None:
        raise NotFound("This business no longer exists.")
    return MeOut(
        company_id=company.id,
        company_name=company.name,
        currency=company.currency,
        country=company.country,
        timezone=company.timezone,
        role=principal.role.value,
        kind=principal.kind,
        label=principal.label,
    )
