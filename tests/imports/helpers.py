"""Helpers for import tests: run a file through the service end to end."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from sqlalchemy import select

from copcca.imports import service
from copcca.imports.limits import Limits
from copcca.models.crm import Customer
from copcca.models.imports import ImportJob
from copcca.runtime import Runtime
from tests.helpers import Tenant


def upload(
    runtime: Runtime,
    tenant: Tenant,
    data: bytes | Path,
    target: str = "customers",
    filename: str = "file.csv",
    sheet: str | None = None,
) -> uuid.UUID:
    raw = data.read_bytes() if isinstance(data, Path) else data
    limits = Limits.from_settings(runtime.settings)
    with runtime.db.transaction(tenant.company_id) as session:
        with service.stage(io.BytesIO(raw), limits) as staged:
            job = service.create_job(
                session,
                tenant.principal,
                runtime.settings,
                staged,
                filename=filename,
                target=target,
                sheet=sheet,
            )
        return job.id


def check(runtime: Runtime, tenant: Tenant, job_id: uuid.UUID) -> ImportJob:
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_check(session, tenant.principal, job_id)
    return job(runtime, tenant, job_id)


def run(runtime: Runtime, tenant: Tenant, job_id: uuid.UUID) -> ImportJob:
    with runtime.db.transaction(tenant.company_id) as session:
        service.start_import(session, tenant.principal, job_id)
    return job(runtime, tenant, job_id)


def job(runtime: Runtime, tenant: Tenant, job_id: uuid.UUID) -> ImportJob:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(ImportJob, job_id)
        assert row is not None
        session.expunge(row)
        return row


def import_file(
    runtime: Runtime,
    tenant: Tenant,
    data: bytes | Path,
    target: str = "customers",
    **options: object,
) -> ImportJob:
    job_id = upload(runtime, tenant, data, target)
    if options:
        with runtime.db.transaction(tenant.company_id) as session:
            service.set_mapping(session, tenant.principal, job_id, {}, dict(options))
    return run(runtime, tenant, job_id)


def customers(
    runtime: Runtime, tenant: Tenant
) -> list[tuple[str, str | None, str | None]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(Customer.name, Customer.phone, Customer.email)
            .where(Customer.company_id == tenant.company_id)
            .order_by(Customer.name, Customer.phone)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]
