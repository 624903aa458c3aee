"""What every writer gets and gives back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from copcca.imports.bulk import select_in
from copcca.imports.keyfilter import KeyFilter
from copcca.imports.validation import Problems, choice_for
from copcca.models.import_rows import ImportLink
from copcca.models.integrations import DeduplicationRule
from copcca.models.tenancy import Company


@dataclass
class CleanBatch:
    rows: list[int]  # file row numbers
    fields: dict[str, list[Any]]  # field -> clean values (None: empty or bad)
    currencies: list[str]
    skip: list[bool]
    problems: Problems

    @property
    def size(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        return self.fields.get(name) or [None] * self.size

    def live(self) -> list[int]:
        return [i for i, s in enumerate(self.skip) if not s]


@dataclass
class WriteContext:
    session: Session
    company: Company
    job_id: uuid.UUID
    source_key: str
    on_problem: dict[str, str]
    started_at: datetime
    keys: KeyFilter | None = None  # keys that may exist (customers only)
    file_sha256: str = ""

    def choice(self, code: str) -> str:
        return choice_for(self.on_problem, code)

    def row_key(self, row: int) -> str:
        """A stable key for a record the file gives no id for: the same row
        of the same file (re-imported) gets the same key."""
        return f"row:{self.file_sha256[:16]}:{row}"


@dataclass
class Written:
    entity: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    # Ids this batch created; linked records of another entity are written
    # "entity:id" (a product a competitor-price row created).
    created_ids: list[str] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class Writer(Protocol):
    entity: str

    def write(self, batch: CleanBatch) -> Written: ...


def match_order(
    session: Session,
    company_id: uuid.UUID,
    entity: str,
    allowed: tuple[str, ...],
    default: tuple[str, ...] | None = None,
) -> list[str]:
    """The company's deduplication rule for ``entity``, or the default order."""
    rule = session.scalar(
        select(DeduplicationRule).where(
            DeduplicationRule.company_id == company_id,
            DeduplicationRule.entity == entity,
        )
    )
    if rule is not None and rule.enabled:
        order = [k for k in rule.match_on if k in allowed]
        if order:
            return order
    return list(default or allowed)


def load_links(
    ctx: WriteContext, entity: str, external_ids: list[Any], scope: str | None = None
) -> dict[str, uuid.UUID]:
    """File ids already imported, in ``scope`` (by default the file layout)."""
    rows = select_in(
        ctx.session,
        [ImportLink.external_id, ImportLink.entity_id],
        ImportLink.external_id,
        external_ids,
        ImportLink.company_id == ctx.company.id,
        ImportLink.entity == entity,
        ImportLink.source_key == (ctx.source_key if scope is None else scope),
    )
    return {ext: eid for ext, eid in rows}


def save_links(
    ctx: WriteContext,
    entity: str,
    wanted: dict[str, uuid.UUID],
    known: dict[str, uuid.UUID],
    scope: str | None = None,
) -> list[str]:
    """Create or repoint file-id links; returns the ids of links created."""
    created: list[str] = []
    session = ctx.session
    source_key = ctx.source_key if scope is None else scope
    for ext, entity_id in wanted.items():
        if ext in known:
            if known[ext] != entity_id:
                session.execute(
                    update(ImportLink)
                    .where(
                        ImportLink.company_id == ctx.company.id,
                        ImportLink.entity == entity,
                        ImportLink.source_key == source_key,
                        ImportLink.external_id == ext,
                    )
                    .values(entity_id=entity_id)
                )
            continue
        link = ImportLink(
            id=uuid.uuid4(),
            company_id=ctx.company.id,
            entity=entity,
            source_key=source_key,
            external_id=ext,
            entity_id=entity_id,
        )
        session.add(link)
        created.append(str(link.id))
    return created


def jsonable(value: Any) -> Any:
    """A value as the change log (JSON) keeps it; undo turns it back."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return list(value) if isinstance(value, list | tuple) else value


def change(
    entity: str, row_id: uuid.UUID, before: dict[str, Any], after: dict[str, Any]
) -> dict[str, Any]:
    """One change-log entry: the values a row had and the ones written."""
    return {
        "entity": entity,
        "id": str(row_id),
        "before": {k: jsonable(v) for k, v in before.items()},
        "after": {k: jsonable(v) for k, v in after.items()},
    }


def merge_lists(*lists: list[Any]) -> list[str]:
    out: list[str] = []
    for items in lists:
        for item in items:
            if item and item not in out:
                out.append(item)
    return out
