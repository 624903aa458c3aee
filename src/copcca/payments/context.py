"""A connector context for one payment connection (config with opened
secrets, an HTTP client with timeouts). Connectors get nothing else."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from copcca.connectors.base import ConnectorContext
from copcca.connectors.http import make_client
from copcca.crm.countries import market
from copcca.db.base import utcnow
from copcca.integrations.credentials import full_config
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.security.vault import Vault

# Status checks and pushes wait this long for a provider before giving up
# (the check is then retried later, nothing is credited meanwhile).
PROVIDER_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@contextmanager
def payment_context(
    vault: Vault,
    integration: Integration,
    company: Company,
    *,
    timeout: httpx.Timeout | None = None,
) -> Iterator[ConnectorContext]:
    client = make_client(timeout=timeout or PROVIDER_TIMEOUT)
    try:
        yield ConnectorContext(
            company_id=company.id,
            integration_id=integration.id,
            config=full_config(vault, integration),
            http=client,
            log=logging.getLogger(f"copcca.connectors.{integration.provider}"),
            clock=utcnow,
            region=company.country,
            currency=market(company.country).currency,
        )
    finally:
        client.close()
