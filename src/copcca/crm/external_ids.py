"""The map from (integration, entity, external id) to a CRM row.

Lookups return a light :class:`Link` (plain columns, no ORM object: a sync
page asks for hundreds). A repository remembers what it looked up or linked
for the rest of its unit of work, and ``preload`` fetches a whole page's
ids in one query, so a page costs a few queries instead of several per
record. ``forget`` drops the memory (after a rolled-back savepoint it may
name rows that are gone).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from copcca.crm.ids import new_id
from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.models.crm import ExternalId

# Memo keys name the integration by its UUID's integer: a UUID hashes in
# Python, an int in C, and a sync page looks links up thousands of times.
Key = tuple[int, str, str]
CHUNK = 500


@dataclass(slots=True)
class Link:
    """One external id and the CRM row it became. While the link's insert
    is deferred to the end of a batch (``pending``), ``row`` is the queued
    row's values: a change to the link changes what will be written."""

    integration_id: uuid.UUID
    entity: str
    external_id: str
    entity_id: uuid.UUID
    source_updated_at: datetime | None
    id: uuid.UUID | None = None
    row: dict[str, Any] | None = None

    @property
    def pending(self) -> bool:
        return self.row is not None


_COLUMNS = (
    ExternalId.id,
    ExternalId.integration_id,
    ExternalId.entity,
    ExternalId.external_id,
    ExternalId.entity_id,
    ExternalId.source_updated_at,
)


def _link_of(row: Any) -> Link:
    return Link(
        integration_id=row.integration_id,
        entity=row.entity,
        external_id=row.external_id,
        entity_id=row.entity_id,
        source_updated_at=row.source_updated_at,
        id=row.id,
    )


# What a preload reads of each link: the integration and entity are known.
_PRELOAD = (
    ExternalId.id,
    ExternalId.external_id,
    ExternalId.entity_id,
    ExternalId.source_updated_at,
)


def _target(row: Any, model: Any, columns: Sequence[Any]) -> Any:
    """What a preloaded link points at, from the joined row."""
    if model is None:
        return None
    if not columns:
        return row[-1]
    values = tuple(row[len(_PRELOAD) :])
    return values if values[0] is not None else None


@lru_cache(maxsize=16)
def _preload_statement(model: Any, columns: tuple[Any, ...]) -> Any:
    """The preload query, built once per shape (building it is a good part
    of its cost); the company, integration, entity and ids are bound."""
    company_id: Any = bindparam("company_id")
    stmt = select(*_PRELOAD).where(
        ExternalId.company_id == company_id,
        ExternalId.integration_id == bindparam("integration_id"),
        ExternalId.entity == bindparam("entity"),
        ExternalId.external_id.in_(bindparam("ids", expanding=True)),
    )
    if model is not None:
        stmt = stmt.add_columns(*(columns or (model,))).outerjoin(
            model, (model.id == ExternalId.entity_id) & (model.company_id == company_id)
        )
    return stmt


class ExternalIdRepository(TenantRepository[ExternalId]):
    model = ExternalId
    noun = "external id"

    def __init__(self, session: Session, company_id: uuid.UUID) -> None:
        super().__init__(session, company_id)
        self._memo: dict[Key, Link | None] = {}

    def _select_links(self) -> Any:
        return select(*_COLUMNS).where(ExternalId.company_id == self.company_id)

    def find(
        self, integration_id: uuid.UUID, entity: str, external_id: str
    ) -> Link | None:
        key = (integration_id.int, entity, external_id)
        if key not in self._memo:
            stmt = self._select_links().where(
                ExternalId.integration_id == integration_id,
                ExternalId.entity == entity,
                ExternalId.external_id == external_id,
            )
            row = self.session.execute(stmt).first()
            self._memo[key] = _link_of(row) if row is not None else None
        return self._memo[key]

    def preload(
        self,
        integration_id: uuid.UUID,
        entity: str,
        external_ids: Iterable[str],
        model: Any = None,
        columns: Sequence[Any] = (),
    ) -> list[tuple[Link, Any]]:
        """Look up many ids at once; later ``find`` calls ask no query.

        With ``model`` (the CRM table the entity lives in) each link comes
        with its row (or, with ``columns``, the tuple of those, the first
        never NULL in a row), or None when the row is gone, in the same
        query: the
        rows are reached through the link's unique index and the primary
        key. Asking for them apart, ``company_id = ? AND id IN (…250 ids)``,
        makes SQLite's planner (no statistics) walk the company's whole
        index, a cost that grows with every page a sync stores.
        """
        wanted = sorted(
            {
                e
                for e in external_ids
                if (integration_id.int, entity, e) not in self._memo
            }
        )
        found: list[tuple[Link, Any]] = []
        stmt = _preload_statement(model, tuple(columns))
        params = {
            "company_id": self.company_id,
            "integration_id": integration_id,
            "entity": entity,
        }
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            params["ids"] = chunk
            plain = model is None or bool(columns)
            for row in self._rows(stmt, params, plain=plain):
                link = Link(integration_id, entity, row[1], row[2], row[3], row[0])
                self._memo[(integration_id.int, entity, link.external_id)] = link
                found.append((link, _target(row, model, columns)))
            for external_id in chunk:
                self._memo.setdefault((integration_id.int, entity, external_id), None)
        return found

    def _rows(self, stmt: Any, params: dict[str, Any], *, plain: bool) -> Any:
        """Plain columns are read on the session's connection, without the
        ORM's result machinery (a page asks for hundreds of rows); the
        session's pending changes are flushed first, as a query would."""
        if not plain:
            return self.session.execute(stmt, params)
        self.session.flush()
        return self.session.connection().execute(stmt, params)

    def forget(self) -> None:
        self._memo.clear()

    def remember(self, link: Link) -> None:
        """A link whose insert was deferred: later lookups see it."""
        self._memo[(link.integration_id.int, link.entity, link.external_id)] = link

    def link(
        self,
        integration_id: uuid.UUID,
        entity: str,
        external_id: str,
        entity_id: uuid.UUID,
        source_updated_at: datetime | None = None,
    ) -> Link:
        """Point the external id at ``entity_id`` (created or moved), keeping
        the provider's version of the record for the staleness check."""
        found = self.find(integration_id, entity, external_id)
        if found is None:
            row = self.add(
                ExternalId(
                    id=new_id(),
                    integration_id=integration_id,
                    entity=entity,
                    external_id=external_id,
                    entity_id=entity_id,
                    source_updated_at=source_updated_at,
                )
            )
            found = Link(
                integration_id,
                entity,
                external_id,
                entity_id,
                source_updated_at,
                row.id,
            )
            self.remember(found)
            return found
        changes: dict[str, Any] = {}
        if found.entity_id != entity_id:
            changes["entity_id"] = entity_id
        if (
            source_updated_at is not None
            and source_updated_at != found.source_updated_at
        ):
            changes["source_updated_at"] = source_updated_at
        if changes and found.row is not None:  # not written yet: change the row
            found.row.update(changes)
        elif changes:
            self.session.execute(
                update(ExternalId)
                .where(
                    ExternalId.company_id == self.company_id, ExternalId.id == found.id
                )
                .values(**changes, updated_at=utcnow())
            )
        for name, value in changes.items():
            setattr(found, name, value)
        return found

    def ids_for(self, entity: str, entity_id: uuid.UUID) -> list[ExternalId]:
        stmt = self.select().where(
            ExternalId.entity == entity, ExternalId.entity_id == entity_id
        )
        return list(self.session.scalars(stmt))

    def entity_ids(
        self, integration_id: uuid.UUID, entity: str
    ) -> dict[str, uuid.UUID]:
        stmt = select(ExternalId.external_id, ExternalId.entity_id).where(
            ExternalId.company_id == self.company_id,
            ExternalId.integration_id == integration_id,
            ExternalId.entity == entity,
        )
        return {ext: eid for ext, eid in self.session.execute(stmt).all()}
