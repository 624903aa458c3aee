"""Import Center pages: upload (file, Google Sheets link, pasted rows),
map and check, fix problems, import with a progress bar, undo, history,
templates and problem-row downloads. Everything works without JavaScript:
running jobs refresh the page by themselves."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from copcca.errors import CopccaError, InvalidInput
from copcca.imports import exports, service
from copcca.imports.formats.table import Layout
from copcca.imports.limits import Limits
from copcca.imports.repository import ImportJobRepository
from copcca.imports.targets import TARGETS, get_target
from copcca.imports.upload import UploadLimitRoute
from copcca.imports.validation import PROBLEMS
from copcca.web.deps import PageDep

PREFIX = "/app/integrations/import"


router = APIRouter(prefix=PREFIX, route_class=UploadLimitRoute)


def _center(
    page: PageDep,
    *,
    error: CopccaError | None = None,
    status: int = 200,
    target: str = "customers",
) -> HTMLResponse:
    jobs = service.history(page.session, page.principal, limit=30)
    return page.render(
        "sections/import.html",
        section="import",
        jobs=jobs,
        targets=TARGETS,
        error=error,
        chosen=target,
        status_code=status,
        limit_mb=page.runtime.settings.import_max_bytes // 1_000_000,
    )


@router.get("")
def import_center(page: PageDep) -> HTMLResponse:
    return _center(page)


@router.post("/upload")
async def upload(request: Request, page: PageDep) -> Response:
    form = await request.form()
    target = str(form.get("target") or "customers")
    file = form.get("file")
    limits = Limits.from_settings(page.runtime.settings)
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput(
                "Choose a file to upload.", fix="Pick an Excel or CSV file."
            )
        with page.session.begin_nested(), service.stage(file.file, limits) as staged:
            job = service.create_job(
                page.session,
                page.principal,
                page.runtime.settings,
                staged,
                filename=file.filename,
                target=target,
            )
    except CopccaError as exc:
        return _center(page, error=exc, status=exc.status_code, target=target)
    return page.redirect(f"{PREFIX}/{job.id}", "File read. Check how its columns map.")


@router.post("/sheet")
async def from_sheet(request: Request, page: PageDep) -> Response:
    form = await request.form()
    target = str(form.get("target") or "customers")
    try:
        with (
            page.session.begin_nested(),
            service.stage_sheet(str(form.get("link") or ""), page.runtime.settings) as (
                staged,
                name,
            ),
        ):
            job = service.create_job(
                page.session,
                page.principal,
                page.runtime.settings,
                staged,
                filename=name,
                target=target,
                source_kind="sheets",
            )
    except CopccaError as exc:
        return _center(page, error=exc, status=exc.status_code, target=target)
    return page.redirect(f"{PREFIX}/{job.id}", "Sheet read. Check how its columns map.")


@router.post("/paste")
async def from_paste(request: Request, page: PageDep) -> Response:
    form = await request.form()
    target = str(form.get("target") or "customers")
    text = str(form.get("rows") or "")
    limits = Limits.from_settings(page.runtime.settings)
    try:
        if not text.strip():
            raise InvalidInput(
                "Paste some rows first.",
                fix="Copy the rows (with their headings) in Excel and "
                "paste them into the box.",
            )
        with (
            page.session.begin_nested(),
            service.stage_bytes(text.encode("utf-8"), limits) as staged,
        ):
            job = service.create_job(
                page.session,
                page.principal,
                page.runtime.settings,
                staged,
                filename="Pasted rows",
                target=target,
                source_kind="paste",
            )
    except CopccaError as exc:
        return _center(page, error=exc, status=exc.status_code, target=target)
    return page.redirect(f"{PREFIX}/{job.id}", "Rows read. Check how the columns map.")


@router.get("/templates/{target}.{fmt}")
def template(page: PageDep, target: str, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("Templates come as csv or xlsx.")
    content, media, name = exports.template(get_target(target), fmt)
    return Response(
        content,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _job_page(
    page: PageDep,
    job_id: uuid.UUID,
    *,
    error: CopccaError | None = None,
    status: int = 200,
    p: int = 1,
) -> HTMLResponse:
    from copcca.imports import tasks

    job = service.get_job(page.session, page.principal, job_id)
    repo = ImportJobRepository(page.session, page.principal.company_id)
    layout = Layout.from_dict(job.details["layout"])
    target = get_target(job.target)
    page_no = max(1, min(p, 10_000))
    problems = repo.problems(job, limit=25, offset=(page_no - 1) * 25)
    counts = (
        (job.details.get("plan") or {}).get("problems")
        or job.details.get("problem_counts")
        or {}
    )
    progress = tasks.read_progress(job.id) if job.status == "checking" else None
    earlier = repo.same_file(job)
    return page.render(
        "sections/import_job.html",
        section="import",
        job=job,
        layout=layout,
        target=target,
        columns=job.mapping.get("columns", []),
        problems=problems,
        counts=counts,
        kinds=PROBLEMS,
        missing=service.missing_fields(job),
        plan=job.details.get("plan"),
        progress=progress,
        error=error,
        page_no=page_no,
        earlier=earlier,
        fixes=job.options.get("fixes") or {},
        on_problem=job.options.get("on_problem") or {},
        status_code=status,
        refresh=job.status in service.ACTIVE,
    )


@router.get("/{job_id}")
def job_page(page: PageDep, job_id: uuid.UUID, p: int = 1) -> HTMLResponse:
    return _job_page(page, job_id, p=p)


@router.post("/{job_id}")
async def job_action(request: Request, page: PageDep, job_id: uuid.UUID) -> Response:
    service.get_job(page.session, page.principal, job_id)  # 404 for another company
    form = await request.form()
    action = str(form.get("action") or "")
    url = f"{PREFIX}/{job_id}"
    try:
        with page.session.begin_nested():
            message = _act(page, job_id, action, form)
    except CopccaError as exc:
        if exc.status_code not in (409, 413, 422):
            raise
        return _job_page(page, job_id, error=exc, status=exc.status_code)
    return page.redirect(url, message)


def _act(page: PageDep, job_id: uuid.UUID, action: str, form: Any) -> str:
    session, me = page.session, page.principal
    if action in ("map", "check"):
        job = service.get_job(session, me, job_id)
        columns = {
            int(c["index"]): (str(form.get(f"col_{c['index']}") or "") or None)
            for c in job.mapping.get("columns", [])
            if f"col_{c['index']}" in form
        }
        options = {
            "country": form.get("country"),
            "date_order": form.get("date_order"),
            "trim": form.get("trim") == "on",
            "remember": form.get("remember") == "on",
            "on_problem": {
                code: str(form.get(f"on_{code}"))
                for code in PROBLEMS
                if form.get(f"on_{code}")
            },
        }
        service.set_mapping(session, me, job_id, columns, options)
        if action == "check":
            service.request_check(session, me, job_id)
            return "Checking every row. This page updates by itself."
        return "Mapping saved."
    if action == "fix":
        fixes = []
        for key, value in form.multi_items():
            if key.startswith("fix_") and str(value).strip():
                _, row, col = key.split("_")
                fixes.append((int(row), int(col), str(value)))
        service.save_fixes(session, me, job_id, fixes)
        service.request_check(session, me, job_id)
        return "Fixes saved. Checking the rows again."
    if action == "import":
        service.start_import(session, me, job_id)
        return "Import started. This page shows its progress."
    if action == "resume":
        from datetime import timedelta

        stale = timedelta(seconds=page.runtime.settings.import_stale_after_s)
        service.resume(session, me, job_id, stale)
        return "Import resumed from the last saved row."
    if action == "undo":
        service.request_undo(session, me, job_id)
        return "Undoing the import."
    raise InvalidInput("Unknown action.")


@router.get("/{job_id}/problems.{fmt}")
def problem_rows(page: PageDep, job_id: uuid.UUID, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput("Problem rows come as csv or xlsx.")
    header, rows = service.problem_export(
        page.session, page.principal, page.runtime.settings, job_id
    )
    name = f"problem-rows-{str(job_id)[:8]}.{fmt}"
    disposition = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "xlsx":
        return Response(
            exports.xlsx_bytes([header, *rows], "Problem rows"),
            media_type=exports.XLSX_TYPE,
            headers=disposition,
        )
    return Response(
        exports.csv_bytes([header, *rows]),
        media_type="text/csv; charset=utf-8",
        headers=disposition,
    )
