"""API version 1."""

from fastapi import APIRouter, Depends

from copcca.api.deps import reject_unsafe_input
from copcca.api.v1 import (
    api_keys,
    audit,
    imports,
    integrations,
    invoices,
    me,
    payments,
    providers,
    stats,
    sync_logs,
)
from copcca.api.v1 import sync as sync_api

router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_unsafe_input)])
for module in (
    providers,
    integrations,
    imports,
    sync_logs,
    stats,
    api_keys,
    audit,
    me,
    sync_api,
    payments,
    invoices,
):
    router.include_router(module.router)
