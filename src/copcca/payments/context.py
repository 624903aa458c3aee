"""The connector context for payment work: the engine's context
(``copcca.sync.context.open_context``) with a shorter timeout, because a
status check that hangs should give way to the next check, not block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from copcca.connectors.base import ConnectorContext
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sync.context import open_context

# Pushes and status checks wait this long for a provider; a check that times
# out is retried later and nothing is credited meanwhile.
PROVIDER_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@contextmanager
def payment_context(
    runtime: Runtime, integration: Integration, company: Company
) -> Iterator[ConnectorContext]:
    with open_context(runtime.db, runtime.vault, integration, company) as ctx:
        ctx.http.timeout = PROVIDER_TIMEOUT
        yield ctx
