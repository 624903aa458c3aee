"""Page routes, one module per area."""

from fastapi import APIRouter

from copcca.web.routes import (
    auth,
    connect,
    developers,
    imports,
    logs,
    overview,
    payments,
    sections,
    settings,
    wizard,
)
from copcca.webhooks.inbound import routes as hooks

router = APIRouter(include_in_schema=False)
for module in (
    auth,
    overview,
    connect,
    imports,
    logs,
    sections,
    developers,
    settings,
    payments,
):
    router.include_router(module.router)
router.include_router(wizard.router)
router.include_router(hooks.router)
