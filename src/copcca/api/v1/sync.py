"""Sync a connection now, check it live, preview its records, follow a run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from copcca.api.deps import PrincipalDep, RuntimeDep, SessionDep
from copcca.api.errors import AUTH_ERRORS, responses
from copcca.errors import CopccaError
from copcca.models.integrations import SyncLog
from copcca.models.sync import SyncRun
from copcca.sync import preview as previews
from copcca.sync import service

router = APIRouter(prefix="/integrations", tags=["sync"], responses=AUTH_ERRORS)


class ProviderProblem(CopccaError):
    status_code = 502
    code = "provider_error"


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    full: bool = Field(
        default=False,
        description="Read everything again from the start (creates no duplicates).",
    )


class RunOut(BaseModel):
    id: uuid.UUID
    integration_id: uuid.UUID
    status: str = Field(description="queued, running, succeeded, partial or failed")
    trigger: str
    attempts: int
    requested_at: datetime
    next_attempt_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    log_id: uuid.UUID | None
    message: str | None = Field(description="In plain words: what it is doing or did.")
    fix: str | None
    created: int
    updated: int
    skipped: int
    failed: int
    streams: dict[str, Any] = Field(description="Records read per stream so far.")

    @classmethod
    def of(cls, run: SyncRun, log: SyncLog | None) -> RunOut:
        return cls(
            id=run.id,
            integration_id=run.integration_id,
            status=run.status,
            trigger=run.trigger,
            attempts=run.attempts,
            requested_at=run.requested_at,
            next_attempt_at=run.next_attempt_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            log_id=run.log_id,
            message=log.message if log else run.last_error,
            fix=log.fix if log else None,
            created=log.created_count if log else 0,
            updated=log.updated_count if log else 0,
            skipped=log.skipped_count if log else 0,
            failed=log.failed_count if log else 0,
            streams=(log.details or {}).get("streams", {}) if log else {},
        )


class SyncStarted(BaseModel):
    run: RunOut
    created: bool = Field(
        description="False: a sync was already waiting and covers this."
    )
    progress_url: str


class CheckOut(BaseModel):
    ok: bool
    message: str
    error_kind: str | None
    fix: str | None


class StreamOut(BaseModel):
    name: str
    entity: str
    description: str


class PreviewRecordOut(BaseModel):
    label: str
    entity: str
    fields: dict[str, str]


class PreviewOut(BaseModel):
    stream: StreamOut
    records: list[PreviewRecordOut]
    problems: list[str] = Field(description="Records that could not be read, and why.")


@router.post(
    "/{integration_id}/sync",
    response_model=SyncStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(404, 409),
)
def sync_now(
    integration_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    body: SyncIn | None = None,
) -> SyncStarted:
    """Start a sync now (or join the one already waiting: at most one waits)."""
    req = service.request_sync(
        session, principal, integration_id, full_resync=bool(body and body.full)
    )
    return SyncStarted(
        run=RunOut.of(req.run, None),
        created=req.created,
        progress_url=f"/api/v1/integrations/{integration_id}/runs/{req.run.id}",
    )


@router.get(
    "/{integration_id}/runs/{run_id}", response_model=RunOut, responses=responses(404)
)
def get_run(
    integration_id: uuid.UUID,
    run_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
) -> RunOut:
    """A sync's progress and outcome, in plain words."""
    run = service.get_run(session, principal, integration_id, run_id)
    log = session.get(SyncLog, run.log_id) if run.log_id else None
    return RunOut.of(run, log)


@router.post(
    "/{integration_id}/check", response_model=CheckOut, responses=responses(404)
)
def check(
    integration_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep
) -> CheckOut:
    """Test the stored credentials with the provider, live."""
    result = service.check_integration(
        runtime.db, runtime.vault, principal, integration_id
    )
    return CheckOut(
        ok=result.ok,
        message=result.message,
        error_kind=result.error_kind,
        fix=result.fix,
    )


@router.get(
    "/{integration_id}/streams",
    response_model=list[StreamOut],
    responses=responses(404),
)
def streams(
    integration_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep
) -> list[StreamOut]:
    """What this connection can bring into the CRM."""
    infos = previews.list_streams(runtime.db, runtime.vault, principal, integration_id)
    return [
        StreamOut(name=i.name, entity=i.entity, description=i.description)
        for i in infos
    ]


@router.get(
    "/{integration_id}/preview",
    response_model=PreviewOut,
    responses=responses(404, 502),
)
def preview(
    integration_id: uuid.UUID,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    stream: str = Query(
        default="", max_length=64, description="A stream name from /streams"
    ),
) -> PreviewOut:
    """Up to 10 real records from the provider as they would enter the CRM.
    Nothing is written."""
    result = previews.preview(
        runtime.db, runtime.vault, principal, integration_id, stream
    )
    if result.error:
        raise ProviderProblem(result.error, fix=result.fix)
    info = result.stream
    return PreviewOut(
        stream=StreamOut(
            name=info.name, entity=info.entity, description=info.description
        ),
        records=[
            PreviewRecordOut(label=r.label, entity=r.entity, fields=dict(r.fields))
            for r in result.records
        ],
        problems=result.problems,
    )
