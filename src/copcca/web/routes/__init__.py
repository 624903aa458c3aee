"""Page routes, one module per area."""

from fastapi import APIRouter

from copcca.payments import routes as payment_hooks
from copcca.web.routes import (
    auth,
    connect,
    developers,
    logs,
    overview,
    sections,
    settings,
)
from copcca.webhooks.inbound import routes as hooks

router = APIRouter(include_in_schema=False)
for module in (
    auth,
    overview,
    connect,
    logs,
    sections,
    developers,
    settings,
    hooks,
    payment_hooks,
):
    router.include_router(module.router)
