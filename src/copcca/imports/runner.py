"""Running a job's rows: the check (a dry run) and the import itself.

The import commits one batch per transaction: the rows it wrote, its
problems, its change-log entry (for undo) and the checkpoint move together
or not at all (promise J2). A worker killed mid-import leaves the last
committed checkpoint; running the job again continues after it, and since
every row is matched before it is written, nothing is duplicated (F6).

The check runs the very same code in one transaction and rolls it back, so
what it reports is exactly what the import would do to the data as it is.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import NamedTemporaryFile
from typing import Any

from sqlalchemy.orm import Session

from copcca.config import Settings
from copcca.db.base import utcnow
from copcca.db.session import Database, bulk_mode
from copcca.imports import statements
from copcca.imports import validation as v
from copcca.imports.formats.table import Layout, data_rows
from copcca.imports.keyfilter import KeyFilter, customer_keys
from copcca.imports.limits import Limits
from copcca.imports.pipeline import Plan, clean_batch
from copcca.imports.repository import ImportJobRepository
from copcca.imports.targets import get_target
from copcca.imports.writers.base import CleanBatch, WriteContext, Writer, Written
from copcca.jobs.collector import bulk_work
from copcca.models.import_rows import ImportChange
from copcca.models.imports import ImportJob
from copcca.models.tenancy import Company

log = logging.getLogger("copcca.imports")

MAX_STORED_PROBLEMS = 20_000
Progress = Callable[[int, int], None]
WriterFactory = Callable[[WriteContext], Writer]
WRITERS: dict[str, WriterFactory] = {}


def register_writer(target: str, factory: WriterFactory) -> None:
    WRITERS[target] = factory


def _writers() -> dict[str, WriterFactory]:
    if not WRITERS:
        from copcca.imports.writers.competitors import CompetitorPriceWriter
        from copcca.imports.writers.customers import CustomerWriter
        from copcca.imports.writers.invoices import InvoiceWriter
        from copcca.imports.writers.payments import PaymentWriter
        from copcca.imports.writers.products import ProductWriter
        from copcca.imports.writers.sales import SaleWriter
        from copcca.imports.writers.stock import StockCountWriter

        WRITERS.update(
            customers=CustomerWriter,
            products=ProductWriter,
            sales=SaleWriter,
            invoices=InvoiceWriter,
            payments=PaymentWriter,
            stock_counts=StockCountWriter,
            competitor_prices=CompetitorPriceWriter,
        )
    return WRITERS


class Superseded(Exception):
    """Another runner took the job over; this one stops quietly."""


class _Rollback(Exception):
    pass


def build_plan(job: ImportJob, company: Company) -> Plan:
    target = get_target(job.target)
    field_map = {
        str(c["field"]): int(c["index"])
        for c in job.mapping.get("columns", [])
        if c.get("field") in target.names
    }
    options = job.options or {}
    fixes = {
        int(row): {int(col): str(value) for col, value in cols.items()}
        for row, cols in (options.get("fixes") or {}).items()
    }
    return Plan(
        target=target,
        field_map=field_map,
        context=v.CleanContext(
            region=options.get("country") or company.country,
            date_order=options.get("date_order") or "DMY",
            trim=bool(options.get("trim", True)),
        ),
        currency=options.get("currency") or company.currency,
        on_problem=dict(options.get("on_problem") or {}),
        fixes=fixes,
    )


@contextmanager
def staged_file(
    db: Database, company_id: uuid.UUID, job_id: uuid.UUID
) -> Iterator[Path]:
    """The job's stored file copied to a local temporary file."""
    with NamedTemporaryFile(prefix="copcca-import-", suffix=".bin") as handle:
        with db.transaction(company_id, write=False) as session:
            repo = ImportJobRepository(session, company_id)
            job = repo.get_or_404(job_id)
            repo.copy_file(job, handle)
        handle.flush()
        yield Path(handle.name)


def batches(
    path: Path,
    layout: Layout,
    limits: Limits,
    size: int,
    start_after: int = 0,
    together: int | None = None,
) -> Iterator[list[tuple[int, list[Any]]]]:
    """Rows in chunks of ``size``; rows next to each other with the same
    value in column ``together`` (a receipt's lines) stay in one chunk."""
    chunk: list[tuple[int, list[Any]]] = []
    for item in data_rows(path, layout, limits, start_after):
        if len(chunk) >= size and not _same_group(chunk[-1][1], item[1], together):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def _same_group(last: list[Any], row: list[Any], column: int | None) -> bool:
    if column is None or column >= len(last) or column >= len(row):
        return False
    return last[column] not in ("", None) and last[column] == row[column]


def clean_batches(
    path: Path,
    job_details: dict[str, Any],
    plan: Plan,
    limits: Limits,
    size: int,
    start_after: int = 0,
) -> Iterator[CleanBatch]:
    """The job's rows cleaned and checked, a batch at a time; an M-Pesa
    statement is read by its own reader (``imports.statements``)."""
    if job_details.get("statement") == statements.MPESA:
        yield from statements.batches(path, size, start_after)
        return
    layout = Layout.from_dict(job_details["layout"])
    together = plan.field_map.get("number") if plan.target.key == "sales" else None
    for rows in batches(path, layout, limits, size, start_after, together):
        yield clean_batch(plan, rows)


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    processed: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, batch: CleanBatch, written: Written, keep_problems: int
    ) -> list[dict[str, Any]]:
        self.created += written.created
        self.updated += written.updated
        self.unchanged += written.unchanged
        self.skipped += written.skipped + sum(batch.skip)
        self.processed += batch.size
        rows = problem_rows(batch)
        for row in rows:
            self.codes[row["code"]] += 1
        return rows[: max(0, keep_problems)]

    def as_plan(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "processed": self.processed,
            "problems": dict(self.codes),
        }


def problem_rows(batch: CleanBatch) -> list[dict[str, Any]]:
    rows = batch.rows
    return [
        {"row": rows[i], "field": f, "code": code, "value": value, "column": None}
        for i, f, code, value in batch.problems.found
    ]


def _columns(job: ImportJob) -> dict[str, str]:
    return {
        str(c["field"]): str(c.get("header") or "")
        for c in job.mapping.get("columns", [])
        if c.get("field")
    }


def _with_columns(
    rows: list[dict[str, Any]], columns: dict[str, str]
) -> list[dict[str, Any]]:
    for row in rows:
        row["column"] = columns.get(row["field"] or "")
    return rows


def run_check(
    db: Database,
    settings: Settings,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Dry run: what the import would create, update and skip, and why."""
    limits = Limits.from_settings(settings)
    tally = Tally()
    kept: list[dict[str, Any]] = []
    with db.transaction(company_id, write=False) as session:
        job = ImportJobRepository(session, company_id).get_or_404(job_id)
        company = session.get(Company, company_id)
        assert company is not None
        plan, details = build_plan(job, company), dict(job.details)
        source_key, total = job.source_key or "", job.total_rows
        sha, columns = job.file_sha256 or "", _columns(job)
    factory = _writers()[plan.target.key]
    with staged_file(db, company_id, job_id) as path:
        try:
            with db.transaction(company_id) as session:
                bulk_mode(session)
                started = utcnow()
                company = session.get(Company, company_id)
                assert company is not None
                keys = _keys(session, plan, company_id, total)
                for batch in clean_batches(
                    path, details, plan, limits, settings.import_batch_rows
                ):
                    ctx = WriteContext(
                        session,
                        company,
                        job_id,
                        source_key,
                        plan.on_problem,
                        started,
                        keys,
                        sha,
                    )
                    written = factory(ctx).write(batch)
                    kept += tally.add(batch, written, MAX_STORED_PROBLEMS - len(kept))
                    if progress:
                        progress(tally.processed, total)
                raise _Rollback
        except _Rollback:
            pass
    with db.transaction(company_id) as session:
        repo = ImportJobRepository(session, company_id)
        job = repo.lock(job_id)
        repo.clear_problems(job)
        repo.add_problems(job, _with_columns(kept, columns))
        job.problems_count = sum(tally.codes.values())
        job.details = {
            **job.details,
            "plan": tally.as_plan(),
            "checked_at": utcnow().isoformat(),
        }
        if job.status == "checking":
            job.status = "checked"
    return tally.as_plan()


def run_import(
    db: Database,
    settings: Settings,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    runner: str,
    progress: Progress | None = None,
) -> None:
    """Import the job's rows from its checkpoint on, one transaction per batch."""
    from copcca.imports import service

    limits = Limits.from_settings(settings)
    with db.transaction(company_id, write=False) as session:
        job = ImportJobRepository(session, company_id).get_or_404(job_id)
        company = session.get(Company, company_id)
        assert company is not None
        plan, details = build_plan(job, company), dict(job.details)
        start_after, started = job.checkpoint_row, job.started_at or utcnow()
        keys = _keys(session, plan, company_id, job.total_rows)
        source_key, total, columns = job.source_key or "", job.total_rows, _columns(job)
        sha = job.file_sha256 or ""
    factory = _writers()[plan.target.key]
    pause = settings.import_throttle_ms / 1000
    try:
        with staged_file(db, company_id, job_id) as path, bulk_work():
            for batch in clean_batches(
                path, details, plan, limits, settings.import_batch_rows, start_after
            ):
                with db.transaction(company_id) as session:
                    done = _commit_batch(
                        session,
                        company_id,
                        job_id,
                        runner,
                        batch,
                        factory,
                        source_key,
                        plan,
                        started,
                        columns,
                        keys,
                        sha,
                    )
                if progress:
                    progress(done, total)
                if pause:
                    time.sleep(pause)
    except Superseded:
        log.info("import %s was taken over by another runner", job_id)
        return
    except Exception as exc:
        with db.transaction(company_id) as session:
            service.mark_failed(session, company_id, job_id, runner, exc)
        raise
    with db.transaction(company_id) as session:
        service.mark_finished(session, company_id, job_id, runner)


def _keys(
    session: Session, plan: Plan, company_id: uuid.UUID, rows: int
) -> KeyFilter | None:
    if plan.target.key != "customers":
        return None
    return customer_keys(session, company_id, rows)


def _commit_batch(
    session: Session,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    runner: str,
    batch: CleanBatch,
    factory: WriterFactory,
    source_key: str,
    plan: Plan,
    started: Any,
    columns: dict[str, str],
    keys: KeyFilter | None = None,
    sha: str = "",
) -> int:
    repo = ImportJobRepository(session, company_id)
    job = repo.lock(job_id)
    if job.runner != runner or job.status != "importing":
        raise Superseded
    bulk_mode(session)
    if batch.rows[-1] <= job.checkpoint_row:
        return job.processed_rows  # already committed by an earlier run
    company = session.get(Company, company_id)
    assert company is not None
    ctx = WriteContext(
        session, company, job_id, source_key, plan.on_problem, started, keys, sha
    )
    written = factory(ctx).write(batch)
    rows = problem_rows(batch)
    room = MAX_STORED_PROBLEMS - min(job.problems_count, MAX_STORED_PROBLEMS)
    repo.add_problems(job, _with_columns(rows[:room], columns))
    counts = Counter(job.details.get("problem_counts") or {})
    counts.update(r["code"] for r in rows)
    session.add(
        ImportChange(
            company_id=company_id,
            job_id=job_id,
            batch=job.batches_done + 1,
            entity=written.entity,
            first_row=batch.rows[0],
            last_row=batch.rows[-1],
            created=written.created_ids,
            updated=written.updates,
            links=written.links,
        )
    )
    job.created_count += written.created
    job.updated_count += written.updated
    job.unchanged_count += written.unchanged
    job.skipped_count += written.skipped + sum(batch.skip)
    job.problems_count += len(rows)
    job.processed_rows += batch.size
    job.checkpoint_row = batch.rows[-1]
    job.batches_done += 1
    job.heartbeat_at = utcnow()
    job.details = {**job.details, "problem_counts": dict(counts)}
    return job.processed_rows
