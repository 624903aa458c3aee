"""Fixtures for tests that sync from the local test store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from copcca.connectors import registry
from copcca.integrations import service
from copcca.runtime import Runtime
from tests.connectors import teststore
from tests.connectors.store import TestStore, running_store
from tests.helpers import Tenant

WEBHOOK_SECRET = "whsec-test-store-1"


@pytest.fixture
def teststore_provider(monkeypatch: pytest.MonkeyPatch) -> registry.ProviderInfo:
    """The test store in the catalogue, with its connector, for one test."""
    monkeypatch.setitem(registry._PROVIDERS, teststore.KEY, teststore.INFO)
    return teststore.INFO


@pytest.fixture
def store(teststore_provider: registry.ProviderInfo) -> Iterator[TestStore]:
    with running_store() as running:
        running.seed()
        yield running


def connect_store(
    runtime: Runtime,
    tenant: Tenant,
    store: TestStore,
    *,
    api_key: str | None = None,
    frequency: str = "hourly",
    streams: list[str] | None = None,
    name: str | None = None,
) -> uuid.UUID:
    """A stored test-store connection (not synced yet, not scheduled)."""
    with runtime.db.transaction(tenant.company_id) as session:
        integration = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(
                provider=teststore.KEY,
                credentials={
                    "base_url": store.url,
                    "api_key": api_key or store.api_key,
                    "webhook_secret": WEBHOOK_SECRET,
                },
                name=name,
                frequency=frequency,
                streams=streams,
                schedule=False,
            ),
        )
        return integration.id
