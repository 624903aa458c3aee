"""The Import Center's use cases: take a file (upload, path, Google Sheets
link or pasted rows), look at it, map it, check it, import it, undo it.

Routes, the CLI and jobs call these; they commit nothing themselves (the
unit of work does) and enqueue jobs only after the commit.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from tempfile import NamedTemporaryFile
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca import events
from copcca.config import Settings
from copcca.db.base import utcnow
from copcca.db.session import on_commit
from copcca.errors import Conflict, CopccaError, InvalidInput
from copcca.imports import mapping, statements
from copcca.imports.errors import EmptyFile, TooBig
from copcca.imports.formats.table import Layout, scan
from copcca.imports.limits import Limits
from copcca.imports.repository import ImportJobRepository
from copcca.imports.targets import Target, get_target
from copcca.imports.validation import PROBLEMS
from copcca.models.imports import ImportJob
from copcca.models.integrations import IntegrationMapping, SyncLog, SyncStatus
from copcca.models.tenancy import Company
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync.logs import finish_log, start_log

COPY_CHUNK = 1 << 20
ACTIVE = ("checking", "importing", "undoing")
SOURCE_KINDS = ("file", "sheets", "paste")


@dataclass(frozen=True)
class Staged:
    """An incoming file copied to a temporary path, measured and hashed."""

    path: Path
    size: int
    sha256: str


@contextmanager
def stage(source: BinaryIO, limits: Limits) -> Iterator[Staged]:
    """Copy a stream to a temporary file, refusing it as soon as it passes
    the byte limit (never holding it in memory)."""
    digest = hashlib.sha256()
    size = 0
    with NamedTemporaryFile(prefix="copcca-upload-", suffix=".bin") as handle:
        while chunk := source.read(COPY_CHUNK):
            size += len(chunk)
            if size > limits.max_bytes:
                raise too_big(limits)
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        if size == 0:
            raise EmptyFile()
        yield Staged(Path(handle.name), size, digest.hexdigest())


def too_big(limits: Limits) -> TooBig:
    return TooBig(
        f"This file is larger than {limits.describe_bytes()}, the most one import "
        "can take.",
        fix="Split it into smaller files (or save only the sheet you need) and "
        "upload each.",
    )


def create_job(
    session: Session,
    principal: Principal,
    settings: Settings,
    staged: Staged,
    *,
    filename: str,
    target: str,
    source_kind: str = "file",
    sheet: str | None = None,
) -> ImportJob:
    """Look at a staged file and open an import job for it.

    Refuses (with a plain message and nothing written) a file that is
    empty, not a table, unsafe or over a limit.
    """
    spec = get_target(target)
    company = _company(session, principal)
    limits = Limits.from_settings(settings)
    layout, sniff = scan(staged.path, limits, spec, company.country, sheet)
    statement = statements.recognise(staged.path, layout.kind)
    if statement is not None:  # an M-Pesa statement is payments, whatever was picked
        if spec.key != "payments":
            spec = get_target("payments")
            layout, sniff = scan(staged.path, limits, spec, company.country, sheet)
        layout.notices.append(statements.notice(statement))
        layout.total_rows = statements.row_count(statement)
    repo = ImportJobRepository(session, principal.company_id)
    job = repo.add(
        ImportJob(
            id=uuid.uuid4(),
            created_by=principal.user_id,
            filename=(filename or "import")[:300],
            source_kind=source_kind if source_kind in SOURCE_KINDS else "file",
            target=spec.key,
            status="uploaded",
            file_sha256=staged.sha256,
            file_size=staged.size,
            sheet=layout.sheet,
            header_row=layout.header_row,
            total_rows=layout.total_rows,
            source_key=mapping.signature(layout.columns),
            options={
                "country": company.country,
                "currency": company.currency,
                "date_order": "DMY",
                "trim": True,
                "remember": True,
            },
        )
    )
    _suggest(session, job, spec, layout, sniff, company)
    if statement is not None:
        job.details = {**job.details, "statement": statements.MPESA}
    session.flush()
    with staged.path.open("rb") as handle:
        repo.store_file(job, handle)
    return job


def _suggest(
    session: Session,
    job: ImportJob,
    spec: Target,
    layout: Layout,
    sniff: list[list[Any]],
    company: Company,
) -> None:
    remembered = session.scalar(
        select(IntegrationMapping).where(
            IntegrationMapping.company_id == company.id,
            IntegrationMapping.source == f"import:{job.source_kind}",
            IntegrationMapping.target == spec.key,
            IntegrationMapping.signature == job.source_key,
        )
    )
    known = dict(remembered.mapping) if remembered else {}
    suggestions = mapping.suggest(spec, layout.columns, sniff, company.country, known)
    job.mapping = {
        "columns": [s.to_dict() for s in suggestions],
        "remembered": remembered is not None,
    }
    if remembered and remembered.options:
        job.options = {**job.options, **remembered.options}
    job.details = {"layout": layout.to_dict()}


def _company(session: Session, principal: Principal) -> Company:
    company = session.get(Company, principal.company_id)
    assert company is not None
    return company


def get_job(session: Session, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    return ImportJobRepository(session, principal.company_id).get_or_404(job_id)


def history(
    session: Session, principal: Principal, *, limit: int = 20, offset: int = 0
) -> list[ImportJob]:
    """Past imports, newest first."""
    repo = ImportJobRepository(session, principal.company_id)
    return list(repo.history(limit=limit, offset=offset))


def _editable(job: ImportJob) -> None:
    if job.status not in ("uploaded", "checked", "failed_check"):
        raise Conflict(
            "This import has already started, so its mapping cannot change.",
            fix="Upload the file again to import it with another mapping.",
        )


def set_mapping(
    session: Session,
    principal: Principal,
    job_id: uuid.UUID,
    columns: dict[int, str | None],
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Save the owner's choice of field per column (and import options)."""
    job = get_job(session, principal, job_id)
    _editable(job)
    spec = get_target(job.target)
    chosen: dict[str, int] = {}
    for index, name in columns.items():
        if name and name not in spec.names:
            raise InvalidInput(
                f"{name!r} is not a field of {spec.label}.",
                fix="Pick one of the listed fields.",
            )
        if name and name in chosen:
            raise InvalidInput(
                f"Two columns are both mapped to {spec.field(name).label}.",
                fix="Map each field to one column only.",
                field=name,
            )
        if name:
            chosen[name] = index
    current = list(job.mapping.get("columns", []))
    for entry in current:
        index = int(entry["index"])
        if index in columns:
            field = columns[index] or None
            if field != entry.get("field"):
                entry.update(
                    field=field,
                    confidence=100 if field else 0,
                    how="chosen" if field else "none",
                )
    job.mapping = {**job.mapping, "columns": current}
    if options:
        job.options = {**job.options, **clean_options(options)}
    if job.status == "checked":
        job.status = "uploaded"
    return job


def clean_options(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.get("country"):
        country = str(options["country"]).upper()[:2]
        if not country.isalpha() or len(country) != 2:
            raise InvalidInput(
                "Country must be a two-letter code like KE.", field="country"
            )
        out["country"] = country
    if options.get("date_order"):
        order = str(options["date_order"]).upper()
        if order not in ("DMY", "MDY", "YMD"):
            raise InvalidInput(
                "Date order must be DMY, MDY or YMD.", field="date_order"
            )
        out["date_order"] = order
    for flag in ("trim", "remember"):
        if flag in options:
            out[flag] = bool(options[flag])
    if "on_problem" in options:
        chosen: dict[str, str] = {}
        for code, choice in dict(options["on_problem"] or {}).items():
            kind = PROBLEMS.get(str(code))
            if kind is None or choice not in kind.choices:
                raise InvalidInput(
                    f"{choice!r} is not a choice for {code!r}.", field="on_problem"
                )
            chosen[str(code)] = str(choice)
        out["on_problem"] = chosen
    return out


def missing_fields(job: ImportJob) -> list[str]:
    """Required field groups no column is mapped to."""
    spec = get_target(job.target)
    if (job.details or {}).get("statement"):
        return []  # read by the statement's own reader, not the mapping
    mapped = {c.get("field") for c in job.mapping.get("columns", [])}
    return [
        " or ".join(spec.field(n).label for n in group)
        for group in spec.required
        if not mapped & set(group)
    ]


def _require_mapping(job: ImportJob) -> None:
    missing = missing_fields(job)
    if missing:
        raise InvalidInput(
            "Some required fields are not mapped to a column: "
            + "; ".join(missing)
            + ".",
            fix="Pick the column that holds each of them.",
        )


def save_fixes(
    session: Session,
    principal: Principal,
    job_id: uuid.UUID,
    fixes: list[tuple[int, int, str]],
) -> ImportJob:
    """Values typed in the preview grid: (file row, column index, value)."""
    job = get_job(session, principal, job_id)
    _editable(job)
    width = len(Layout.from_dict(job.details["layout"]).columns)
    stored = {k: dict(v) for k, v in (job.options.get("fixes") or {}).items()}
    for row, column, value in fixes:
        if row < 1 or not 0 <= column < width:
            raise InvalidInput("That cell is not in the file.", field="fixes")
        stored.setdefault(str(row), {})[str(column)] = str(value)[:1000]
    job.options = {**job.options, "fixes": stored}
    if job.status == "checked":
        job.status = "uploaded"
    return job


def request_check(
    session: Session, principal: Principal, job_id: uuid.UUID
) -> ImportJob:
    """Check every row (a dry run) in the background."""
    job = get_job(session, principal, job_id)
    _editable(job)
    _require_mapping(job)
    _remember(session, job)
    job.status = "checking"
    from copcca.imports import tasks

    company = str(principal.company_id)
    on_commit(session, lambda: tasks.check_rows(company, str(job.id)))
    return job


def _remember(session: Session, job: ImportJob) -> None:
    if not job.options.get("remember", True):
        return
    chosen = {c["header"]: c.get("field") for c in job.mapping.get("columns", [])}
    keys: tuple[str, ...] = ("country", "date_order", "trim")
    options: dict[str, Any] = {k: job.options[k] for k in keys if k in job.options}
    row = session.scalar(
        select(IntegrationMapping).where(
            IntegrationMapping.company_id == job.company_id,
            IntegrationMapping.source == f"import:{job.source_kind}",
            IntegrationMapping.target == job.target,
            IntegrationMapping.signature == (job.source_key or ""),
        )
    )
    if row is None:
        row = IntegrationMapping(
            company_id=job.company_id,
            source=f"import:{job.source_kind}",
            target=job.target,
            signature=job.source_key or "",
        )
        session.add(row)
    row.mapping = {str(k): v for k, v in chosen.items()}
    row.options = dict(options)


def start_import(
    session: Session,
    principal: Principal,
    job_id: uuid.UUID,
    *,
    enqueue: bool = True,
    trigger: str = "manual",
) -> str:
    """Begin importing; returns the runner token the job must carry."""
    job = get_job(session, principal, job_id)
    if job.status not in ("uploaded", "checked"):
        raise Conflict(
            f"This import is {job.status}; it cannot start again.",
            fix="Upload the file again to import it once more.",
        )
    _require_mapping(job)
    _remember(session, job)
    token = _claim(job)
    job.started_at = utcnow()
    log = start_log(
        session,
        principal.company_id,
        provider="import",
        kind="import",
        trigger=trigger,
        stream=job.target,
        message=f"Importing {job.filename} into {job.target}.",
    )
    session.flush()
    job.sync_log_id = log.id
    audit.record(
        session,
        principal,
        "import.started",
        f"Started importing {job.filename} into {job.target} ({job.total_rows} rows).",
        target_type="import",
        target_id=job.id,
        after={"file": job.filename, "target": job.target, "rows": job.total_rows},
    )
    if enqueue:
        _enqueue_import(session, principal.company_id, job.id, token)
    return token


def _claim(job: ImportJob) -> str:
    token = secrets.token_hex(8)
    job.status, job.runner, job.heartbeat_at, job.error = (
        "importing",
        token,
        utcnow(),
        None,
    )
    return token


def _enqueue_import(
    session: Session, company_id: uuid.UUID, job_id: uuid.UUID, token: str
) -> None:
    from copcca.imports import tasks

    cid, jid = str(company_id), str(job_id)
    on_commit(session, lambda: tasks.import_rows(cid, jid, token))


def resume(
    session: Session,
    principal: Principal,
    job_id: uuid.UUID,
    stale_after: timedelta,
    *,
    enqueue: bool = True,
) -> str:
    """Continue an import that failed or whose worker stopped reporting."""
    job = get_job(session, principal, job_id)
    stale = job.heartbeat_at is None or utcnow() - job.heartbeat_at > stale_after
    if not (job.status == "failed" or (job.status == "importing" and stale)):
        raise Conflict(
            "This import is still running or already finished.",
            fix="Wait for it to finish; the page updates by itself.",
        )
    token = _claim(job)
    audit.record(
        session,
        principal,
        "import.resumed",
        f"Resumed importing {job.filename} after row {job.checkpoint_row}.",
        target_type="import",
        target_id=job.id,
    )
    if enqueue:
        _enqueue_import(session, principal.company_id, job.id, token)
    return token


def mark_failed(
    session: Session,
    company_id: uuid.UUID,
    job_id: uuid.UUID,
    runner: str,
    exc: BaseException,
) -> None:
    job = ImportJobRepository(session, company_id).lock(job_id)
    if job.runner != runner:
        return
    message = (
        exc.message
        if isinstance(exc, CopccaError)
        else ("The import stopped because of an unexpected error.")
    )
    fix = (exc.fix if isinstance(exc, CopccaError) else None) or (
        "Nothing after the last saved batch was imported. Resume the import; "
        "rows already imported will not be added twice."
    )
    job.status, job.error, job.heartbeat_at = "failed", f"{message} {fix}", utcnow()
    log = session.get(SyncLog, job.sync_log_id) if job.sync_log_id else None
    if log is not None:
        finish_log(
            log,
            status=SyncStatus.FAILED,
            message=message,
            fix=fix,
            error_kind="import",
            created=job.created_count,
            updated=job.updated_count,
            skipped=job.skipped_count,
        )


def mark_finished(
    session: Session, company_id: uuid.UUID, job_id: uuid.UUID, runner: str
) -> None:
    repo = ImportJobRepository(session, company_id)
    job = repo.lock(job_id)
    if job.runner != runner or job.status != "importing":
        return
    job.status, job.finished_at = "finished", utcnow()
    job.summary = summary_text(job)
    samples = [
        {
            "record": f"Row {p.row}" + (f", {p.column}" if p.column else ""),
            "message": PROBLEMS[p.code].title + (f": {p.value}" if p.value else ""),
            "fix": PROBLEMS[p.code].fix,
        }
        for p in repo.problems(job, limit=20)
        if PROBLEMS[p.code].severity == "error"
    ]
    log = session.get(SyncLog, job.sync_log_id) if job.sync_log_id else None
    if log is not None:
        status = SyncStatus.PARTIAL if job.skipped_count else SyncStatus.SUCCESS
        finish_log(
            log,
            status=status,
            message=job.summary,
            created=job.created_count,
            updated=job.updated_count,
            skipped=job.skipped_count,
            errors=samples,
            fix="Download the problem rows, fix them and upload that file."
            if job.skipped_count
            else None,
        )
    events.emit(
        session,
        company_id,
        "import.finished",
        entity="import",
        entity_id=job.id,
        data={
            "target": job.target,
            "created": job.created_count,
            "updated": job.updated_count,
            "skipped": job.skipped_count,
        },
    )
    audit.record(
        session,
        Principal.system(company_id, "import"),
        "import.finished",
        job.summary,
        target_type="import",
        target_id=job.id,
    )


def summary_text(job: ImportJob) -> str:
    return (
        f"{job.filename}: {job.created_count} created, {job.updated_count} updated, "
        f"{job.unchanged_count} unchanged, {job.skipped_count} skipped."
    )


def request_undo(
    session: Session, principal: Principal, job_id: uuid.UUID, *, enqueue: bool = True
) -> str:
    """Undo a finished (or failed) import in the background."""
    job = get_job(session, principal, job_id)
    if job.status not in ("finished", "failed"):
        raise Conflict(
            f"Only a finished import can be undone; this one is {job.status}.",
            fix="Wait for it to finish first.",
        )
    if job.created_by and job.created_by != principal.user_id:
        principal.require_admin("undo someone else's import")
    token = secrets.token_hex(8)
    job.status, job.runner, job.heartbeat_at = "undoing", token, utcnow()
    audit.record(
        session,
        principal,
        "import.undone",
        f"Undid the import of {job.filename}: removing "
        f"{job.created_count} created and restoring {job.updated_count} "
        "updated records.",
        target_type="import",
        target_id=job.id,
    )
    if enqueue:
        from copcca.imports import tasks

        cid, jid = str(principal.company_id), str(job.id)
        on_commit(session, lambda: tasks.undo_rows(cid, jid, token))
    return token


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, COPY_CHUNK)


@contextmanager
def stage_bytes(data: bytes, limits: Limits) -> Iterator[Staged]:
    """Pasted rows (or any bytes in hand) staged like an upload."""
    import io

    with stage(io.BytesIO(data), limits) as staged:
        yield staged


@contextmanager
def stage_sheet(
    link: str, settings: Settings, client: Any = None
) -> Iterator[tuple[Staged, str]]:
    """Fetch a shared Google Sheet as CSV; yields it and a display name."""
    from copcca.imports.formats import sheets

    limits = Limits.from_settings(settings)
    parsed = sheets.parse_link(link)
    with NamedTemporaryFile(prefix="copcca-sheet-", suffix=".csv") as handle:
        sheets.fetch(parsed, handle, limits, settings.google_sheets_url, client)
        handle.flush()
        handle.seek(0)
        with stage(handle, limits) as staged:  # type: ignore[arg-type]
            yield staged, f"Google Sheet {parsed.sheet_id[:10]}… (tab {parsed.gid})"


def problem_export(
    session: Session,
    principal: Principal,
    settings: Settings,
    job_id: uuid.UUID,
    limit: int = 100_000,
) -> tuple[list[str], list[list[Any]]]:
    """The rows that were (or would be) left out, with what is wrong, so the
    owner can fix them offline and upload the file again."""
    from copcca.imports import runner, values
    from copcca.imports.formats.table import data_rows
    from copcca.imports.pipeline import clean_batch
    from copcca.imports.validation import v_error_codes

    job = get_job(session, principal, job_id)
    repo = ImportJobRepository(session, principal.company_id)
    company = _company(session, principal)
    plan = runner.build_plan(job, company)
    layout = Layout.from_dict(job.details["layout"])
    limits = Limits.from_settings(settings)
    stored: dict[int, list[str]] = {}
    for p in repo.problems(job, limit=runner.MAX_STORED_PROBLEMS):
        if p.code in v_error_codes():
            stored.setdefault(p.row, []).append(PROBLEMS[p.code].title)
    header = ["Row", *layout.columns, "Problems"]
    out: list[list[Any]] = []
    with repo.file(job) as path:
        chunk: list[tuple[int, list[Any]]] = []
        for item in data_rows(path, layout, limits):
            chunk.append(item)
            if len(chunk) >= 2000:
                _problem_chunk(plan, chunk, stored, out, layout, clean_batch, values)
                chunk = []
            if len(out) >= limit:
                break
        _problem_chunk(plan, chunk, stored, out, layout, clean_batch, values)
    return header, out[:limit]


def _problem_chunk(
    plan: Any,
    chunk: list[tuple[int, list[Any]]],
    stored: dict[int, list[str]],
    out: list[list[Any]],
    layout: Layout,
    clean_batch: Any,
    values: Any,
) -> None:
    if not chunk:
        return
    batch = clean_batch(plan, chunk)
    found: dict[int, list[str]] = {}
    for i, _field, code, value in batch.problems.found:
        if PROBLEMS[code].severity == "error":
            found.setdefault(i, []).append(
                PROBLEMS[code].title + (f" ({value})" if value else "")
            )
    width = len(layout.columns)
    for i, (number, cells) in enumerate(chunk):
        reasons = found.get(i, []) + stored.get(number, [])
        if reasons:
            row = [values.as_text(c) for c in cells[:width]]
            row += [""] * (width - len(row))
            out.append([number, *row, "; ".join(dict.fromkeys(reasons))])
