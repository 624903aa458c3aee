"""Page routes, one module per area."""

from fastapi import APIRouter

from copcca.web.routes import (
    auth,
    connect,
    developers,
    imports,
    logs,
    overview,
    sections,
    settings,
)

router = APIRouter(include_in_schema=False)
for module in (auth, overview, connect, imports, logs, sections, developers, settings):
    router.include_router(module.router)
