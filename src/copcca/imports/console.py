"""``copcca import FILE --into TARGET``: the same pipeline as the web page,
with a progress bar in the terminal."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy import select

from copcca.errors import CopccaError, InvalidInput, NotFound
from copcca.imports import runner, service
from copcca.imports.limits import Limits
from copcca.imports.validation import PROBLEMS
from copcca.models.imports import ImportJob
from copcca.models.tenancy import Company, Role
from copcca.runtime import Runtime
from copcca.security.principal import Principal


def find_company(runtime: Runtime, ref: str | None) -> uuid.UUID:
    """The company named or identified by ``ref``; the only one if omitted."""
    with runtime.db.transaction(write=False) as session:
        companies = list(session.execute(select(Company.id, Company.name)).all())
    if ref:
        for cid, name in companies:
            if ref in (str(cid), name):
                return uuid.UUID(str(cid))
        raise NotFound(f"No company called {ref!r}.", fix="Use its name or id.")
    if len(companies) != 1:
        raise InvalidInput(
            f"There are {len(companies)} companies here; say which one.",
            fix="Add --company 'Business name'.",
        )
    return uuid.UUID(str(companies[0][0]))


@contextmanager
def bar(console: Console, label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def run(
    runtime: Runtime,
    console: Console,
    path: Path,
    target: str,
    *,
    company: str | None,
    dry_run: bool,
    sheet: str | None,
    country: str | None,
    date_order: str | None,
    mapping: Sequence[str],
    on_problem: Sequence[str],
) -> ImportJob:
    company_id = find_company(runtime, company)
    me = Principal(company_id, None, Role.OWNER, "command line", "system")
    limits = Limits.from_settings(runtime.settings)
    with runtime.db.transaction(company_id) as session, path.open("rb") as handle:
        with service.stage(handle, limits) as staged:
            job = service.create_job(
                session,
                me,
                runtime.settings,
                staged,
                filename=path.name,
                target=target,
                sheet=sheet,
            )
        columns = _columns(job, mapping)
        options: dict[str, object] = {"on_problem": _choices(on_problem)}
        if country:
            options["country"] = country
        if date_order:
            options["date_order"] = date_order
        service.set_mapping(session, me, job.id, columns, options)
        show_mapping(console, job)
        job_id = job.id
        if not dry_run:
            token = service.start_import(
                session, me, job_id, enqueue=False, trigger="cli"
            )
    if dry_run:
        with runtime.db.transaction(company_id) as session:
            service.get_job(session, me, job_id).status = "checking"
        with bar(console, "Checking") as update:
            runner.run_check(runtime.db, runtime.settings, company_id, job_id, update)
    else:
        with bar(console, "Importing") as update:
            runner.run_import(
                runtime.db, runtime.settings, company_id, job_id, token, update
            )
    with runtime.db.transaction(company_id, write=False) as session:
        result = service.get_job(session, me, job_id)
        session.expunge(result)
    return result


def _columns(job: ImportJob, pairs: Sequence[str]) -> dict[int, str | None]:
    by_header = {c["header"].lower(): int(c["index"]) for c in job.mapping["columns"]}
    chosen: dict[int, str | None] = {}
    for pair in pairs:
        header, _, field = pair.partition("=")
        index = by_header.get(header.strip().lower())
        if index is None:
            raise InvalidInput(
                f"There is no column {header!r} in this file.",
                fix="Use --map 'Column heading=field'.",
            )
        chosen[index] = field.strip() or None
    return chosen


def _choices(pairs: Sequence[str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def show_mapping(console: Console, job: ImportJob) -> None:
    table = Table(title=f"{job.filename}: {job.total_rows} rows into {job.target}")
    for name in ("Column", "Field", "Sure", "How"):
        table.add_column(name)
    for c in job.mapping["columns"]:
        table.add_row(
            c["header"],
            c.get("field") or "— left out —",
            f"{c['confidence']}%" if c.get("field") else "",
            c["how"],
        )
    console.print(table)
    missing = service.missing_fields(job)
    if missing:
        raise InvalidInput(
            "Not mapped: " + "; ".join(missing) + ".",
            fix="Add --map 'Column heading=field' for each.",
        )


def report(console: Console, job: ImportJob, dry_run: bool) -> None:
    plan = job.details.get("plan") or {}
    if dry_run:
        console.print(
            f"[bold]Dry run[/bold]: would create {plan.get('created', 0)}, update "
            f"{plan.get('updated', 0)}, leave {plan.get('unchanged', 0)} unchanged and "
            f"skip {plan.get('skipped', 0)} rows. Nothing was written."
        )
        counts = plan.get("problems") or {}
    else:
        console.print(
            f"[bold green]Imported[/bold green] {job.filename}: {job.created_count} "
            f"created, {job.updated_count} updated, {job.unchanged_count} unchanged, "
            f"{job.skipped_count} skipped. Import id {job.id} (undo it in the Import "
            "Center)."
        )
        counts = job.details.get("problem_counts") or {}
    for code, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        kind = PROBLEMS[code]
        console.print(f"  {count:>7}  {kind.title} — {kind.fix}")


def fail(console: Console, exc: CopccaError) -> None:
    console.print(f"[red]{exc.message}[/red]")
    if exc.fix:
        console.print(exc.fix)
