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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

import httpx

from copcca.connectors.errors import WebhookRejected


class SecretSaver(Protocol):
    """Seal changed secrets (e.g. a rotated refresh token) in their own
    committed transaction, before the caller uses them (S5).

    ``expires_at``: when access ends unless the shop owner reconnects (not a
    routine hourly access-token expiry); the Overview turns orange 7 days
    before it.
    """

    def __call__(
        self, secrets: dict[str, str], *, expires_at: datetime | None = None
    ) -> None: ...


class SecretRefresher(Protocol):
    """Refresh a rotating token once per connection, across threads and
    processes (S5).

    Under a lock on the integration row it re-reads the stored secrets; if
    ``needed(secrets)`` is still true it calls ``refresh(secrets)``, which
    returns the new secrets, and seals them in the same committed
    transaction before ``ctx.config`` sees them. A caller that lost the race
    just picks up the token the winner stored.
    """

    def __call__(
        self,
        needed: Callable[[dict[str, str]], bool],
        refresh: Callable[[dict[str, str]], dict[str, str]],
    ) -> None: ...


@dataclass
class Traffic:
    """What the context's HTTP client saw, for the sync log and health."""

    requests: int = 0
    throttled: int = 0  # 429 answers
    server_errors: int = 0  # 5xx answers


@dataclass
class ConnectorContext:
    """Everything a connector may use. Built by the engine per run
    (``copcca.sync.context.open_context``)."""

    company_id: uuid.UUID
    integration_id: uuid.UUID | None
    config: dict[str, Any]  # plain config plus opened secrets; never log it
    http: httpx.Client
    log: logging.Logger
    clock: Callable[[], datetime]
    region: str = "KE"  # the company's country, for phone numbers
    currency: str = "KES"
    # Persist changed secrets (rotated OAuth tokens) before they are used (S5).
    # ``None`` while checking credentials that are not stored yet.
    save_secrets: SecretSaver | None = None
    refresh_secrets: SecretRefresher | None = None
    traffic: Traffic = field(default_factory=Traffic)

    @property
    def connection_key(self) -> str:
        """Names this connection for per-connection limits (J8)."""
        return str(self.integration_id or f"unsaved:{self.company_id}")


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


@dataclass(frozen=True)
class ConnectionRevoked:
    """Returned by ``apply_webhook`` when the provider says our access ended
    (e.g. Shopify ``app/uninstalled``): the integration is marked "needs
    reconnect" with ``message`` shown to the shop owner."""

    message: str


@dataclass(frozen=True)
class WebhookAck:
    """What the hub answers a stored delivery with (after the commit)."""

    status: int = 200
    body: bytes = b'{"received":true}'
    media_type: str = "application/json"


class WebhookReceiver(ABC):
    """Receives ``POST /hooks/{provider}/{token}`` (design.md §8).

    The hub refuses oversized bodies, finds the integration by the token,
    calls :meth:`verify_webhook` over the raw bytes, :meth:`parse_webhook`,
    stores each event once in ``webhook_inbox`` and answers
    :meth:`webhook_ack` after the commit. A job later calls
    :meth:`apply_webhook` per stored event and upserts the records it
    returns with ``Ingestor.upsert`` (one sync log row per batch).
    """

    #: Event types :meth:`apply_webhook` understands; others are stored as
    #: ``ignored`` and acknowledged (W10). ``None``: every type.
    known_event_types: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        """Raise ``WebhookRejected`` unless the delivery is authentic.

        Compare signatures with ``hmac.compare_digest`` (W2). A provider's
        unsigned handshake (WooCommerce's ``webhook_id=N`` ping) may be
        accepted here when the body is exactly that; parse it to ``[]``.
        """

    @abstractmethod
    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        """Events in a verified delivery (unknown types are still returned).

        Raise ``ValueError`` (or ``DataError``) for a body that cannot be
        read: it is kept as a failed inbox row and acknowledged.
        """

    @abstractmethod
    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        """CRM records for one stored event (the engine upserts them).

        Return ``[]`` to ignore it (e.g. a stale delivery, W9) and a
        :class:`ConnectionRevoked` to mark the integration for reconnecting.
        Raise ``DataError`` for an unusable event (failed, with a sample),
        a retryable ``ProviderError`` to try again later, ``AuthError`` to
        wait for a reconnect. Never touch the database here.
        """

    def handles(self, event_type: str) -> bool:
        """Whether :meth:`apply_webhook` knows this event type."""
        known = self.known_event_types
        return known is None or event_type in known

    def webhook_handshake(
        self, config: Mapping[str, Any], params: Mapping[str, str]
    ) -> str:
        """Answer a provider's GET verification (e.g. WhatsApp
        ``hub.challenge``): return the plain-text body, or raise
        ``WebhookRejected``."""
        raise WebhookRejected("this system has no GET handshake")

    def webhook_ack(self, events: Sequence[InboundEvent]) -> WebhookAck:
        """The answer to a stored delivery (M-Pesa wants its own JSON)."""
        return WebhookAck()

    def allowed_sources(self, config: Mapping[str, Any]) -> Sequence[str] | None:
        """IP networks (CIDR) a delivery may come from, or ``None`` for any.
        For unsigned rails with an optional allowlist (design.md §8)."""
        return None


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
