"""Undo a finished import: remove what it created, restore what it
updated, newest batch first, one transaction per batch (resumable).

A value changed again since the import (by a person or a sync) is left as
it is now; the undo counts it as a conflict instead of overwriting it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import DateTime, Table, Uuid, delete
from sqlalchemy.orm import Session

from copcca.db.base import UTCDateTime, utcnow
from copcca.db.session import Database
from copcca.imports import bulk
from copcca.imports.repository import ImportJobRepository
from copcca.models.crm import (
    CompetitorPrice,
    Customer,
    Invoice,
    Payment,
    Product,
    Sale,
    SaleLine,
)
from copcca.models.import_rows import ImportChange, ImportLink
from copcca.models.integrations import SyncStatus
from copcca.models.payments import PaymentRequest
from copcca.models.tenancy import Company
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync.logs import finish_log, start_log

TABLES: dict[str, Table] = {
    "customer": cast(Table, Customer.__table__),
    "product": cast(Table, Product.__table__),
    "competitor_price": cast(Table, CompetitorPrice.__table__),
    "sale": cast(Table, Sale.__table__),
    "sale_line": cast(Table, SaleLine.__table__),
    "invoice": cast(Table, Invoice.__table__),
    "payment": cast(Table, Payment.__table__),
    "payment_request": cast(Table, PaymentRequest.__table__),
}
# Rows that point at others go first (lines before sales, payments before the
# invoices they paid, everything before the customers and products it names).
DELETE_ORDER = (
    "sale_line",
    "sale",
    "payment",
    "payment_request",
    "invoice",
    "competitor_price",
    "customer",
    "product",
)
# entity -> (session, company, ids) -> ids that may really be deleted; it
# undoes what deleting would leave wrong (an invoice's paid amount).
BeforeDelete = Callable[[Session, uuid.UUID, list[uuid.UUID]], list[uuid.UUID]]
BEFORE_DELETE: dict[str, BeforeDelete] = {}


def register_table(
    entity: str, table: Table, before_delete: BeforeDelete | None = None
) -> None:
    TABLES[entity] = table
    if before_delete is not None:
        BEFORE_DELETE[entity] = before_delete


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
    _load_hooks()
    for entity in sorted(by_entity, key=_delete_rank):
        ids = by_entity[entity]
        hook = BEFORE_DELETE.get(entity)
        if hook is not None:
            allowed = hook(session, company_id, ids)
            conflicts += len(ids) - len(allowed)
            ids = allowed
        removed += bulk.delete_ids(session, TABLES[entity], ids, company_id)
    return removed, restored, conflicts


def _unused(*columns: Any) -> BeforeDelete:
    """A before-delete step keeping rows something else still points at (a
    customer an invoice kept by the undo names, a product a synced sale
    sold since): removing them would orphan those records."""

    def keep_used(
        session: Session, company_id: uuid.UUID, ids: list[uuid.UUID]
    ) -> list[uuid.UUID]:
        used: set[uuid.UUID] = set()
        for column in columns:
            rows = bulk.select_in(
                session, [column], column, ids, column.table.c.company_id == company_id
            )
            used.update(row[0] for row in rows)
        return [i for i in ids if i not in used]

    return keep_used


BEFORE_DELETE.update(
    customer=_unused(Sale.customer_id, Invoice.customer_id, Payment.customer_id),
    product=_unused(SaleLine.product_id, CompetitorPrice.product_id),
)


def _delete_rank(entity: str) -> int:
    return DELETE_ORDER.index(entity) if entity in DELETE_ORDER else -1


def _load_hooks() -> None:
    """Writers that need a step before their rows go register it on import."""
    from copcca.imports.writers import invoices, payments  # noqa: F401


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
    values = {k: _stored(table, k, v) for k, v in before.items()}
    if "updated_at" in table.c:
        values["updated_at"] = utcnow()
    session.execute(
        table.update()
        .where(table.c.id == row_id, table.c.company_id == company_id)
        .values(**values)
    )
    return True


def _plain(value: Any) -> Any:
    """The value as the change log wrote it (see ``writers.base.jsonable``)."""
    from copcca.imports.writers.base import jsonable

    return jsonable(value)


def _stored(table: Table, name: str, value: Any) -> Any:
    """A change-log value back in its column's Python type."""
    if value is None:
        return None
    column = table.c[name]
    if isinstance(column.type, Uuid):
        return uuid.UUID(str(value))
    if isinstance(value, str) and isinstance(column.type, UTCDateTime | DateTime):
        return datetime.fromisoformat(value)
    return value


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
