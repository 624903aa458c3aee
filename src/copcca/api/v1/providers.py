"""The catalogue of systems a shop can connect."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from copcca.api.deps import PrincipalDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.connectors.registry import all_providers, get_provider
from copcca.integrations.schemas import ProviderOut

router = APIRouter(tags=["providers"], responses=AUTH_ERRORS)


class ProviderList(BaseModel):
    items: list[ProviderOut]


@router.get("/providers", response_model=ProviderList)
def list_providers(principal: PrincipalDep) -> ProviderList:
    """Every provider the hub knows, with what it needs and what it brings."""
    return ProviderList(items=[ProviderOut.of(p) for p in all_providers()])


@router.get("/providers/{key}", response_model=ProviderOut, responses=responses(404))
def show_provider(key: str, principal: PrincipalDep) -> ProviderOut:
    return ProviderOut.of(get_provider(key))
