"""Build the :class:`ConnectorContext` a connector runs with.

A context holds the opened config (plain settings plus decrypted secrets),
one httpx client with timeouts set, a logger, a clock, the company's region
and currency, and two ways to persist rotated secrets *before* using them
(S5): ``save_secrets`` and ``refresh_secrets``. Each opens its own short
transaction, so no provider call ever runs inside the caller's unit of
work.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from copcca.connectors.base import Connector, ConnectorContext, Traffic
from copcca.connectors.http import make_client
from copcca.connectors.registry import get_provider
from copcca.db.base import utcnow
from copcca.db.session import Database
from copcca.errors import NotFound
from copcca.integrations import credentials
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.security.vault import Vault


def connector_for(provider: str) -> Connector:
    """A fresh connector instance, or a plain 404 when none is built yet."""
    info = get_provider(provider)
    if info.connector is None:
        raise NotFound(
            f"Live sync for {info.name} is not built yet.",
            fix="Your credentials are saved; syncing starts once it is ready.",
        )
    connector: Connector = info.connector()
    return connector


def _logger(provider: str) -> logging.Logger:
    return logging.getLogger(f"copcca.connectors.{provider}")


@contextmanager
def open_context(
    db: Database,
    vault: Vault,
    integration: Integration,
    company: Company,
    *,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[ConnectorContext]:
    """A context for a stored integration; the HTTP client closes on exit.

    Raises ``VaultError`` when the stored secrets cannot be opened (the
    integration then needs reconnecting).
    """
    config = credentials.full_config(vault, integration)
    keeper = _SecretKeeper(db, vault, integration.company_id, integration.id, config)
    traffic = Traffic()
    with _client(traffic, transport) as client:
        yield ConnectorContext(
            company_id=integration.company_id,
            integration_id=integration.id,
            config=config,
            http=client,
            log=_logger(integration.provider),
            clock=utcnow,
            region=company.country,
            currency=company.currency,
            save_secrets=keeper.save,
            refresh_secrets=keeper.refresh,
            traffic=traffic,
        )


@contextmanager
def unsaved_context(
    company: Company,
    provider: str,
    config: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[ConnectorContext]:
    """A context for credentials typed into the connect form, not stored yet
    (the live check before anything is saved)."""
    traffic = Traffic()
    with _client(traffic, transport) as client:
        yield ConnectorContext(
            company_id=company.id,
            integration_id=None,
            config=dict(config),
            http=client,
            log=_logger(provider),
            clock=utcnow,
            region=company.country,
            currency=company.currency,
            traffic=traffic,
        )


def _client(traffic: Traffic, transport: httpx.BaseTransport | None) -> httpx.Client:
    """The context's client; it counts throttling and server errors."""

    def count(response: httpx.Response) -> None:
        traffic.requests += 1
        if response.status_code == 429:
            traffic.throttled += 1
        elif response.status_code >= 500:
            traffic.server_errors += 1

    client = make_client(transport=transport)
    client.event_hooks["response"].append(count)
    return client


_refresh_locks: dict[uuid.UUID, threading.Lock] = {}
_refresh_locks_guard = threading.Lock()


def _refresh_lock(integration_id: uuid.UUID) -> threading.Lock:
    with _refresh_locks_guard:
        return _refresh_locks.setdefault(integration_id, threading.Lock())


Refresh = Callable[[dict[str, str]], dict[str, str]]


class _SecretKeeper:
    """Seals rotated secrets for one integration in their own transactions."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        company_id: uuid.UUID,
        integration_id: uuid.UUID,
        config: dict[str, Any],
    ) -> None:
        self.db = db
        self.vault = vault
        self.company_id = company_id
        self.integration_id = integration_id
        self.config = config  # the context's dict, updated in place

    def _locked_row(self, session: Any) -> Integration:
        # FOR UPDATE serialises refreshes across processes on PostgreSQL;
        # SQLite's BEGIN IMMEDIATE (a writing unit) already does.
        row = session.scalars(
            select(Integration)
            .where(
                Integration.company_id == self.company_id,
                Integration.id == self.integration_id,
            )
            .with_for_update()
        ).first()
        if row is None:
            raise NotFound("This connection was removed while it was syncing.")
        integration: Integration = row
        return integration

    def save(
        self, secrets: dict[str, str], *, expires_at: datetime | None = None
    ) -> None:
        with self.db.transaction(self.company_id) as session:
            integration = self._locked_row(session)
            stored = credentials.open_secrets(self.vault, integration)
            credentials.seal(self.vault, integration, {**stored, **secrets})
            if expires_at is not None:
                integration.token_expires_at = expires_at
        self.config.update(secrets)

    def refresh(
        self, needed: Callable[[dict[str, str]], bool], refresh: Refresh
    ) -> None:
        with (
            _refresh_lock(self.integration_id),
            self.db.transaction(self.company_id) as session,
        ):
            integration = self._locked_row(session)
            stored = credentials.open_secrets(self.vault, integration)
            if needed(stored):
                stored = {**stored, **refresh(stored)}
                credentials.seal(self.vault, integration, stored)
        self.config.update(stored)
