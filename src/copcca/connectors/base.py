"""The connector protocol (design.md §6).

A provider is a :class:`Connector` subclass registered with
``copcca.connectors.registry.register(key, cls)``. It never touches the
database: it reads pages from the provider and maps payloads to CRM records
(``copcca.crm.records``); the sync engine persists them with their cursor in
one transaction. Optional capabilities are small mixins:
:class:`WebhookReceiver`, :class:`Writer`, :class:`OAuthFlow`.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx


@dataclass
class ConnectorContext:
    """Everything a connector may use. Built by the engine per run."""

    company_id: uuid.UUID
    integration_id: uuid.UUID | None
    config: dict[str, Any]  # plain config plus opened secrets; never log it
    http: httpx.Client
    log: logging.Logger
    clock: Callable[[], datetime]
    region: str = "KE"  # the company's country, for phone numbers
    currency: str = "KES"
    # Persist changed secrets (rotated OAuth tokens) before they are used (S5).
    save_secrets: Callable[[dict[str, str]], None] | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    error_kind: str | None = None
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamInfo:
    name: str  # e.g. "orders"
    entity: str  # the CRM records it fills: customers, products, sales, ...
    description: str  # plain words for the connect wizard
    primary_key: str = "id"
    cursor_field: str | None = "updated_at"


@dataclass
class Page:
    """One page of raw provider records and the cursor that follows it.

    The engine saves ``cursor`` in the same transaction as the page's
    records, so a crash after the commit resumes after this page.
    """

    records: list[dict[str, Any]]
    cursor: dict[str, Any]
    done: bool


class Stream(ABC):
    info: ClassVar[StreamInfo]

    @abstractmethod
    def pages(self, ctx: ConnectorContext, cursor: dict[str, Any]) -> Iterator[Page]:
        """Pages from ``cursor`` (empty dict: from the beginning)."""

    @abstractmethod
    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        """CRM records for one raw payload; raise ``DataError`` to skip it."""


class Connector(ABC):
    key: ClassVar[str]

    @abstractmethod
    def check(self, ctx: ConnectorContext) -> CheckResult:
        """Test the credentials live, cheaply."""

    @abstractmethod
    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        """The streams this installation can read."""


@dataclass(frozen=True)
class InboundEvent:
    """One verified webhook event, with an id that is stable across retries."""

    event_id: str
    type: str
    payload: dict[str, Any]
    occurred_at: datetime | None = None
    external_id: str | None = None


class WebhookReceiver(ABC):
    """Verify over the raw bytes (constant time), then parse."""

    @abstractmethod
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        """Raise ``WebhookRejected`` unless the delivery is authentic."""

    @abstractmethod
    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        """Events in a verified delivery (unknown types are still returned)."""


class Writer(ABC):
    """Pushes something to the provider (send a message, STK push, ...)."""

    @abstractmethod
    def write(
        self, ctx: ConnectorContext, action: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Perform ``action``; return the provider's reference data."""


class OAuthFlow(ABC):
    @abstractmethod
    def authorize_url(
        self, config: Mapping[str, Any], state: str, redirect_uri: str
    ) -> str:
        """Where to send the shop owner to approve access."""

    @abstractmethod
    def exchange(
        self, ctx: ConnectorContext, params: Mapping[str, str], redirect_uri: str
    ) -> dict[str, str]:
        """Verify the callback and trade its code for tokens (secrets)."""
