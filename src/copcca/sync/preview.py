"""Preview: up to ten real records from the provider, mapped to what they
would become in the CRM, before anything is written."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from copcca.connectors.base import ConnectorContext, Stream, StreamInfo
from copcca.connectors.errors import DataError, ProviderError
from copcca.crm.money import format_money
from copcca.db.session import Database
from copcca.errors import NotFound, VaultError
from copcca.security.principal import Principal
from copcca.security.vault import Vault
from copcca.sync.batch import entity_of
from copcca.sync.context import connector_for, open_context
from copcca.sync.service import _load

HIDDEN_FIELDS = {"external_id", "updated_at"}


@dataclass(frozen=True)
class PreviewRecord:
    label: str
    entity: str
    fields: list[tuple[str, str]]


@dataclass
class Preview:
    stream: StreamInfo
    records: list[PreviewRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    fix: str | None = None


def list_streams(
    db: Database, vault: Vault, actor: Principal, integration_id: uuid.UUID
) -> list[StreamInfo]:
    """The streams this connection can read, with what each brings."""
    integration, company = _load(db, actor, integration_id)
    connector = connector_for(integration.provider)
    with open_context(db, vault, integration, company) as ctx:
        return [s.info for s in connector.streams(ctx)]


def preview(
    db: Database,
    vault: Vault,
    actor: Principal,
    integration_id: uuid.UUID,
    stream_name: str,
    *,
    limit: int = 10,
    transport: httpx.BaseTransport | None = None,
) -> Preview:
    """Read the first records of one stream and map them; write nothing."""
    integration, company = _load(db, actor, integration_id)
    connector = connector_for(integration.provider)
    try:
        with open_context(db, vault, integration, company, transport=transport) as ctx:
            streams = {s.info.name: s for s in connector.streams(ctx)}
            stream = streams.get(stream_name)
            if stream is None:
                raise NotFound(
                    f"This system has no '{stream_name}' to preview.",
                    fix=f"Choose one of: {', '.join(streams)}.",
                )
            result = Preview(stream.info)
            try:
                _read(ctx, stream, result, limit, company.currency)
            except ProviderError as exc:
                result.error, result.fix = exc.message, exc.fix
            return result
    except VaultError as exc:
        raise NotFound(exc.message, fix=exc.fix) from exc


def _read(
    ctx: ConnectorContext, stream: Stream, result: Preview, limit: int, currency: str
) -> None:
    for page in stream.pages(ctx, {}):
        for raw in page.records:
            key = str(raw.get(stream.info.primary_key, ""))
            try:
                mapped = stream.map(ctx, raw)
            except DataError as exc:
                result.problems.append(f"{exc.record or key}: {exc.message}")
                continue
            except Exception as exc:
                result.problems.append(
                    f"{key}: could not be read ({type(exc).__name__})"
                )
                continue
            result.records.extend(describe(r, currency) for r in mapped)
            if len(result.records) >= limit:
                result.records = result.records[:limit]
                return
        if page.done:
            return


def describe(record: Any, currency: str) -> PreviewRecord:
    """A record as label/value pairs a shop owner can read."""
    values: dict[str, Any] = {}
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        values = dataclasses.asdict(record)
    shown_currency = values.get("currency") or currency
    fields: list[tuple[str, str]] = []
    for name, value in values.items():
        if name in HIDDEN_FIELDS or value in (None, "", [], {}):
            continue
        label = name.removesuffix("_minor").replace("_", " ").capitalize()
        fields.append((label, _shown(name, value, shown_currency)))
    label = str(
        values.get("name") or values.get("number") or values.get("external_id") or ""
    )
    return PreviewRecord(label, entity_of(record), fields)


def _shown(name: str, value: Any, currency: str) -> str:
    if name.endswith("_minor") and isinstance(value, int):
        return format_money(value, currency, "en")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return (
            f"{len(value)} items"
            if value and isinstance(value[0], dict)
            else ", ".join(str(v) for v in value)
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
