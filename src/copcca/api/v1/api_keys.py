"""API keys: create (shown once), list, revoke. Owners and admins only."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from copcca.api.deps import PrincipalDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.models.tenancy import Role
from copcca.security import api_keys

router = APIRouter(prefix="/api-keys", tags=["api keys"], responses=AUTH_ERRORS)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once. Store it now; it cannot be shown again.")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.MEMBER


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


@router.get("", response_model=ApiKeyList)
def list_keys(session: SessionDep, principal: PrincipalDep) -> ApiKeyList:
    principal.require_admin("manage API keys")
    repo = api_keys.ApiKeyRepository(session, principal.company_id)
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in repo.active()])


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=responses(422),
)
def create_key(
    body: ApiKeyCreate, session: SessionDep, principal: PrincipalDep
) -> ApiKeyCreated:
    """A new key, shown once. Owner keys are not issued: owner becomes admin."""
    row, token = api_keys.create(session, principal, name=body.name, role=body.role)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=token)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404),
)
def revoke_key(
    key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    api_keys.revoke(session, principal, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
