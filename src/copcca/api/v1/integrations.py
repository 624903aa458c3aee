"""Connected systems. Payment and accounting ones are for owners and admins."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.connectors.registry import get_provider
from copcca.errors import VaultError
from copcca.integrations import service
from copcca.integrations.credentials import open_secrets, secret_fields
from copcca.integrations.schemas import (
    IntegrationCreate,
    IntegrationList,
    IntegrationOut,
    IntegrationPatch,
)
from copcca.models.integrations import Integration
from copcca.security.vault import Vault

router = APIRouter(prefix="/integrations", tags=["integrations"], responses=AUTH_ERRORS)


def _out(vault: Vault, integration: Integration) -> IntegrationOut:
    names = set(secret_fields(get_provider(integration.provider).config_model))
    try:
        present = sorted(k for k in open_secrets(vault, integration) if k in names)
    except VaultError:  # shown as 'reconnect required' by the status, not here
        present = []
    return IntegrationOut.of(integration, present)


@router.get("", response_model=IntegrationList)
def list_integrations(
    session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> IntegrationList:
    """The company's connected systems (members do not see payments/accounting)."""
    items = service.list_integrations(session, principal)
    return IntegrationList(items=[_out(runtime.vault, i) for i in items])


@router.post(
    "",
    response_model=IntegrationOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 409, 422),
)
def create_integration(
    body: IntegrationCreate,  # type: ignore[valid-type]
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> IntegrationOut:
    """Connect a system. Credentials are sealed and never returned."""
    integration = service.connect(
        session,
        principal,
        runtime.vault,
        service.NewIntegration(
            provider=body.provider,
            credentials=body.credentials.model_dump(),
            name=body.name,
            frequency=body.frequency.value,
            streams=body.streams,
        ),
    )
    return _out(runtime.vault, integration)


@router.get(
    "/{integration_id}", response_model=IntegrationOut, responses=responses(404)
)
def get_integration(
    integration_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> IntegrationOut:
    return _out(
        runtime.vault, service.get_integration(session, principal, integration_id)
    )


@router.patch(
    "/{integration_id}",
    response_model=IntegrationOut,
    responses=responses(404, 409, 422),
)
def patch_integration(
    integration_id: uuid.UUID,
    body: IntegrationPatch,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> IntegrationOut:
    """Rename, change frequency or streams, pause/resume, or replace secrets."""
    integration = service.change(
        session,
        principal,
        runtime.vault,
        integration_id,
        service.IntegrationChange(**body.model_dump(exclude_unset=True, mode="json")),
    )
    return _out(runtime.vault, integration)


@router.delete(
    "/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(404),
)
def delete_integration(
    integration_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Disconnect. The CRM records it brought in stay."""
    service.disconnect(session, principal, integration_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
