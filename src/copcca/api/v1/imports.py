"""Imports over the API: upload a file (or a Google Sheets link, or pasted
rows), read the suggested mapping, change it, check, import, undo."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.imports import exports, service
from copcca.imports.limits import Limits
from copcca.imports.repository import ImportJobRepository
from copcca.imports.targets import get_target
from copcca.imports.upload import UploadLimitRoute
from copcca.models.imports import ImportJob

router = APIRouter(
    prefix="/imports",
    tags=["imports"],
    responses=AUTH_ERRORS,
    route_class=UploadLimitRoute,
)


class ColumnOut(BaseModel):
    index: int
    header: str
    field: str | None
    confidence: int
    how: str


class ImportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    source_kind: str
    target: str
    status: str
    total_rows: int
    processed_rows: int
    created_count: int
    updated_count: int
    unchanged_count: int
    skipped_count: int
    problems_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    undone_at: datetime | None
    error: str | None
    columns: list[ColumnOut] = []
    options: dict[str, Any] = {}
    plan: dict[str, Any] | None = None
    missing: list[str] = []

    @classmethod
    def of(cls, job: ImportJob) -> ImportOut:
        out = cls.model_validate(job)
        out.columns = [ColumnOut(**c) for c in job.mapping.get("columns", [])]
        out.options = {k: v for k, v in job.options.items() if k != "fixes"}
        out.plan = job.details.get("plan")
        out.missing = service.missing_fields(job)
        return out


class ImportList(BaseModel):
    items: list[ImportOut]


class SheetIn(BaseModel):
    link: str = Field(max_length=2000)
    target: str = Field(default="customers", max_length=32)


class PasteIn(BaseModel):
    rows: str = Field(max_length=5_000_000)
    target: str = Field(default="customers", max_length=32)


class MappingIn(BaseModel):
    columns: dict[int, str | None] = Field(
        default_factory=dict, description="Column index -> field name (null: leave out)"
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="country, date_order (DMY|MDY|YMD), trim, remember, on_problem",
    )


class FixIn(BaseModel):
    row: int = Field(ge=1)
    column: int = Field(ge=0)
    value: str = Field(max_length=1000)


class FixesIn(BaseModel):
    fixes: list[FixIn] = Field(default_factory=list, max_length=10_000)


class ProblemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row: int
    column: str | None
    field: str | None
    code: str
    value: str | None


class ProblemList(BaseModel):
    items: list[ProblemOut]


@router.get("", response_model=ImportList)
def list_imports(
    session: SessionDep,
    principal: PrincipalDep,
    page: int = Query(default=1, ge=1, le=10_000),
) -> ImportList:
    """Import history, newest first, 50 per page."""
    jobs = service.history(session, principal, limit=50, offset=(page - 1) * 50)
    return ImportList(items=[ImportOut.of(j) for j in jobs])


@router.post(
    "",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 413, 422),
)
def upload(
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    target: str = Query(default="customers", max_length=32),
    sheet: str | None = Query(default=None, max_length=200),
) -> ImportOut:
    """Upload a CSV, TSV, xlsx, xls or ods file; returns the suggested mapping."""
    limits = Limits.from_settings(runtime.settings)
    with service.stage(file.file, limits) as staged:
        job = service.create_job(
            session,
            principal,
            runtime.settings,
            staged,
            filename=file.filename or "upload",
            target=target,
            sheet=sheet,
        )
    return ImportOut.of(job)


@router.post(
    "/sheets",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 413, 422, 502),
)
def from_sheet(
    body: SheetIn, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> ImportOut:
    """Read a Google Sheet shared as 'anyone with the link'."""
    with service.stage_sheet(body.link, runtime.settings) as (staged, name):
        job = service.create_job(
            session,
            principal,
            runtime.settings,
            staged,
            filename=name,
            target=body.target,
            source_kind="sheets",
        )
    return ImportOut.of(job)


@router.post(
    "/paste",
    response_model=ImportOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(404, 413, 422),
)
def from_paste(
    body: PasteIn, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> ImportOut:
    """Rows pasted from a spreadsheet (tab separated, with headings)."""
    limits = Limits.from_settings(runtime.settings)
    with service.stage_bytes(body.rows.encode("utf-8"), limits) as staged:
        job = service.create_job(
            session,
            principal,
            runtime.settings,
            staged,
            filename="Pasted rows",
            target=body.target,
            source_kind="paste",
        )
    return ImportOut.of(job)


@router.get(
    "/templates/{target}.{fmt}",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, exports.XLSX_TYPE: {}}},
        **responses(404, 422),
    },
)
def template(target: str, fmt: str, principal: PrincipalDep) -> Response:
    """The template for a target, as csv or xlsx."""
    if fmt not in ("csv", "xlsx"):
        from copcca.errors import InvalidInput

        raise InvalidInput("Templates come as csv or xlsx.")
    content, media, name = exports.template(get_target(target), fmt)
    return Response(
        content,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{import_id}", response_model=ImportOut, responses=responses(404))
def get_import(
    import_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    return ImportOut.of(service.get_job(session, principal, import_id))


@router.put(
    "/{import_id}/mapping", response_model=ImportOut, responses=responses(404, 409, 422)
)
def put_mapping(
    import_id: uuid.UUID, body: MappingIn, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    """Change which field each column goes into, and the import options."""
    job = service.set_mapping(session, principal, import_id, body.columns, body.options)
    return ImportOut.of(job)


@router.post(
    "/{import_id}/fixes", response_model=ImportOut, responses=responses(404, 409, 422)
)
def post_fixes(
    import_id: uuid.UUID, body: FixesIn, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    """Correct single cells (file row, column index) before importing."""
    job = service.save_fixes(
        session, principal, import_id, [(f.row, f.column, f.value) for f in body.fixes]
    )
    return ImportOut.of(job)


@router.post(
    "/{import_id}/check",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409, 422),
)
def check(
    import_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    """Dry run every row in the background: what would be created, updated, skipped."""
    return ImportOut.of(service.request_check(session, principal, import_id))


@router.get(
    "/{import_id}/problems", response_model=ProblemList, responses=responses(404)
)
def problems(
    import_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    code: str | None = Query(default=None, max_length=32),
    page: int = Query(default=1, ge=1, le=10_000),
) -> ProblemList:
    job = service.get_job(session, principal, import_id)
    rows = ImportJobRepository(session, principal.company_id).problems(
        job, code=code, limit=100, offset=(page - 1) * 100
    )
    return ProblemList(items=[ProblemOut.model_validate(r) for r in rows])


@router.get(
    "/{import_id}/problems.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(404)},
)
def problems_csv(
    import_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> Response:
    """The problem rows as a CSV to fix offline and upload again."""
    header, rows = service.problem_export(
        session, principal, runtime.settings, import_id
    )
    return Response(
        exports.csv_bytes([header, *rows]), media_type="text/csv; charset=utf-8"
    )


@router.post(
    "/{import_id}/start",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409, 422),
)
def start(
    import_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    """Import in the background; poll the import for progress."""
    service.start_import(session, principal, import_id, trigger="api")
    return ImportOut.of(service.get_job(session, principal, import_id))


@router.post(
    "/{import_id}/resume",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409),
)
def resume(
    import_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> ImportOut:
    """Continue a failed or stalled import after its last saved row."""
    stale = timedelta(seconds=runtime.settings.import_stale_after_s)
    service.resume(session, principal, import_id, stale)
    return ImportOut.of(service.get_job(session, principal, import_id))


@router.post(
    "/{import_id}/undo",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(403, 404, 409),
)
def undo(
    import_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ImportOut:
    """Remove what the import created and restore what it updated."""
    service.request_undo(session, principal, import_id)
    return ImportOut.of(service.get_job(session, principal, import_id))
