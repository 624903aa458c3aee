"""API version 1."""

from fastapi import APIRouter

from copcca.api.v1 import (
    api_keys,
    audit,
    imports,
    integrations,
    me,
    providers,
    stats,
    sync_logs,
)

router = APIRouter(prefix="/api/v1")
for module in (providers, integrations, imports, sync_logs, stats, api_keys, audit, me):
    router.include_router(module.router)
