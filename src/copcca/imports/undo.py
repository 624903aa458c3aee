"""Undo a finished import: remove what it created, restore what it
updated, newest batch first, one transaction per batch (resumable).

A value changed again since the import (by a person or a sync) is left as
it is now; the undo counts it as a conflict instead of overwriting it.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.session import Database
from copcca.imports import bulk
from copcca.imports.repository import ImportJobRepository
from copcca.models.crm import CompetitorPrice, Customer, Product
from copcca.models.import_rows import ImportChange, ImportLink
from copcca.models.integrations import SyncStatus
from copcca.models.tenancy import Company
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync.logs import finish_log, start_log

TABLES: dict[str, Table] = {
    "customer": cast(Table, Customer.__table__),
    "product": cast(Table, Product.__table__),
    "competitor_price": cast(Table, CompetitorPrice.__table__),
}


def register_table(entity: str, table: Table) -> None:
    TABLES[entity] = table


def run_undo(
    db: Database, company_id: uuid.UUID, job_id: uuid.UUID, runner: str
) -> None:
    """Reverse every change-log batch of the job, newest first."""
    removed = restored = conflicts = 0
    while True:
        with db.transaction(company_id) as session:
            repo = ImportJobRepository(session, company_id)
            job = repo.lock(job_id)
            if job.runner != runner or job.status != "undoing":
                return
            pending = repo.changes(job)
            if not pending:
                _finish(session, company_id, job_id, removed, restored, conflicts)
                return
            change = pending[0]
            r, s, c = undo_change(session, company_id, change)
            removed, restored, conflicts = removed + r, restored + s, conflicts + c
            change.undone_at = utcnow()
            job.heartbeat_at = utcnow()


def undo_change(
    session: Session, company_id: uuid.UUID, change: ImportChange
) -> tuple[int, int, int]:
    restored = conflicts = 0
    for entry in change.updated:
        table = TABLES[entry.get("entity", change.entity)]
        ok = _restore(session, table, company_id, entry)
        restored += ok
        conflicts += not ok
    if change.links:
        session.execute(
            delete(ImportLink).where(
                ImportLink.company_id == company_id,
                ImportLink.id.in_([uuid.UUID(i) for i in change.links]),
            )
        )
    by_entity: dict[str, list[uuid.UUID]] = {}
    for item in change.created:
        entity, _, raw = item.rpartition(":")
        by_entity.setdefault(entity or change.entity, []).append(uuid.UUID(raw))
    removed = 0
    # Prices before the products they point at.
    for entity in sorted(by_entity, key=lambda e: e != "competitor_price"):
        removed += bulk.delete_ids(
            session, TABLES[entity], by_entity[entity], company_id
        )
    return removed, restored, conflicts


def _restore(
    session: Session, table: Table, company_id: uuid.UUID, entry: dict[str, Any]
) -> bool:
    row_id = uuid.UUID(entry["id"])
    before, after = entry["before"], entry["after"]
    columns = [table.c[name] for name in before]
    current = session.execute(
        table.select()
        .with_only_columns(*columns)
        .where(table.c.id == row_id, table.c.company_id == company_id)
    ).first()
    if current is None:
        return False
    now = dict(zip(before, current, strict=True))
    if any(_plain(now[k]) != after[k] for k in before):
        return False
    values = dict(before)
    if "updated_at" in table.c:
        values["updated_at"] = utcnow()
    session.execute(
        table.update()
        .where(table.c.id == row_id, table.c.company_id == company_id)
        .values(**values)
    )
    return True


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def _finish(
    session: Session,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    removed: int,
    restored: int,
    conflicts: int,
) -> None:
    job = ImportJobRepository(session, company_id).lock(job_id)
    job.status, job.undone_at = "undone", utcnow()
    message = (
        f"Undid {job.filename}: {removed} records removed, {restored} "
        f"restored"
        + (f", {conflicts} left as changed since" if conflicts else "")
        + "."
    )
    job.details = {
        **job.details,
        "undo": {"removed": removed, "restored": restored, "conflicts": conflicts},
    }
    log = start_log(
        session,
        company_id,
        provider="import",
        kind="import",
        stream=job.target,
        message=message,
    )
    finish_log(log, status=SyncStatus.SUCCESS, message=message)
    company = session.get(Company, company_id)
    assert company is not None
    audit.record(
        session,
        Principal.system(company_id, "import"),
        "import.undo_finished",
        message,
        target_type="import",
        target_id=job.id,
    )
