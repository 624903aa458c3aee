"""API version 1."""

from fastapi import APIRouter

from copcca.api.v1 import (
    api_keys,
    audit,
    integrations,
    invoices,
    me,
    payments,
    providers,
    stats,
    sync_logs,
)

router = APIRouter(prefix="/api/v1")
for module in (
    providers,
    integrations,
    sync_logs,
    stats,
    api_keys,
    audit,
    me,
    payments,
    invoices,
):
    router.include_router(module.router)
