"""Connected systems and everything that records their work: sync logs,
cursors, mappings, rules and the inbound webhook inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from copcca.db.base import Base, IdMixin, TenantOwned, Timestamps, utcnow


class IntegrationStatus(StrEnum):
    SAVED = "saved"  # credentials stored, not yet checked against the provider
    CONNECTED = "connected"
    PAUSED = "paused"
    NEEDS_RECONNECT = "needs_reconnect"
    ERROR = "error"


class Frequency(StrEnum):
    REALTIME = "realtime"
    EVERY_15_MIN = "15m"
    HOURLY = "hourly"
    DAILY = "daily"
    MANUAL = "manual"


class Health(StrEnum):
    GREEN = "green"
    ORANGE = "orange"
    RED = "red"
    GREY = "grey"


class Integration(IdMixin, TenantOwned, Timestamps, Base):
    """One connected system of one company. Secrets live only in the sealed
    ``credentials`` column; ``config`` holds what is safe to show."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    provider: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24), default=IntegrationStatus.SAVED)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    streams: Mapped[list[str]] = mapped_column(default=list)
    frequency: Mapped[str] = mapped_column(String(16), default=Frequency.HOURLY)
    health: Mapped[str] = mapped_column(String(8), default=Health.GREY)
    health_reason: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]
    token_expires_at: Mapped[datetime | None]
    callback_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    connected_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )


class SyncStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"


class SyncLog(IdMixin, TenantOwned, Base):
    """One run, webhook batch, import or check, written for a shop owner."""

    __tablename__ = "sync_logs"
    __table_args__ = (
        Index("ix_sync_logs_company_started", "company_id", "started_at"),
        Index("ix_sync_logs_company_provider", "company_id", "provider"),
    )

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24), default="sync")
    stream: Mapped[str | None] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    status: Mapped[str] = mapped_column(String(16), default=SyncStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    error_kind: Mapped[str | None] = mapped_column(String(24))
    fix: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IntegrationMapping(IdMixin, TenantOwned, Timestamps, Base):
    """How a source's fields map to CRM fields, remembered per company."""

    __tablename__ = "integration_mappings"
    __table_args__ = (UniqueConstraint("company_id", "source", "target", "signature"),)

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(64), default="")
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SyncRule(IdMixin, TenantOwned, Timestamps, Base):
    """A plain-language rule: when <trigger> [if <conditions>] then <actions>."""

    __tablename__ = "sync_rules"

    name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(64))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    fire_count: Mapped[int] = mapped_column(Integer, default=0)
    last_fired_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )


class DeduplicationRule(IdMixin, TenantOwned, Timestamps, Base):
    """Which fields decide that two records are the same, in order."""

    __tablename__ = "deduplication_rules"
    __table_args__ = (UniqueConstraint("company_id", "entity"),)

    entity: Mapped[str] = mapped_column(String(32))
    match_on: Mapped[list[str]] = mapped_column(default=list)
    auto_merge_threshold: Mapped[int] = mapped_column(Integer, default=95)
    enabled: Mapped[bool] = mapped_column(default=True)


class SyncState(IdMixin, TenantOwned, Base):
    """The cursor of one stream of one integration, saved with its batch."""

    __tablename__ = "sync_state"
    __table_args__ = (UniqueConstraint("integration_id", "stream"),)

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookInbox(IdMixin, TenantOwned, Base):
    """Every verified inbound delivery, stored before we answer 2xx."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("company_id", "provider", "event_id"),
        Index("ix_webhook_inbox_status", "company_id", "status"),
    )

    integration_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
