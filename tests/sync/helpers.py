"""Helpers for sync tests: request a sync, read back what it did."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from copcca.models.crm import Customer, ExternalId, Product
from copcca.models.integrations import Integration, SyncLog, SyncState
from copcca.models.sync import SyncRun
from copcca.runtime import Runtime
from copcca.sync import runs
from copcca.sync.engine import execute_run
from tests.helpers import Tenant


def request(
    runtime: Runtime,
    tenant: Tenant,
    integration_id: uuid.UUID,
    *,
    trigger: str = "manual",
    full_resync: bool = False,
) -> uuid.UUID:
    """Ask for a sync. The test queue is immediate: a run that is due now
    runs as soon as the request commits."""
    with runtime.db.transaction(tenant.company_id) as session:
        req = runs.request_run(
            session,
            tenant.company_id,
            integration_id,
            trigger=trigger,
            full_resync=full_resync,
        )
        return req.run.id


def run_now(runtime: Runtime, tenant: Tenant, run_id: uuid.UUID) -> Any:
    """Make a waiting run due now and run it in this thread."""
    with runtime.db.transaction(tenant.company_id) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        run.next_attempt_at = run.requested_at
    return execute_run(
        runtime.db, runtime.vault, runtime.settings, tenant.company_id, run_id
    )


def run_row(runtime: Runtime, tenant: Tenant, run_id: uuid.UUID) -> SyncRun:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        return run


def log_of(runtime: Runtime, tenant: Tenant, run_id: uuid.UUID) -> SyncLog:
    run = run_row(runtime, tenant, run_id)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        found = session.get(SyncLog, run.log_id)
        assert found is not None
        return found


def integration(
    runtime: Runtime, tenant: Tenant, integration_id: uuid.UUID
) -> Integration:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        found = session.get(Integration, integration_id)
        assert found is not None
        return found


def crm_snapshot(runtime: Runtime, tenant: Tenant) -> dict[str, Any]:
    """The company's synced data without ids and timestamps, for comparing
    two runs (J1, J3)."""
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        customers = sorted(
            (c.name, c.phone, c.email, tuple(c.phones), tuple(c.emails))
            for c in session.scalars(
                select(Customer).where(Customer.company_id == tenant.company_id)
            )
        )
        products = sorted(
            (p.name, p.sku, p.price_minor, p.stock_qty)
            for p in session.scalars(
                select(Product).where(Product.company_id == tenant.company_id)
            )
        )
        links = sorted(
            (e.entity, e.external_id)
            for e in session.scalars(
                select(ExternalId).where(ExternalId.company_id == tenant.company_id)
            )
        )
        cursors = {
            s.stream: s.cursor
            for s in session.scalars(
                select(SyncState).where(SyncState.company_id == tenant.company_id)
            )
        }
    return {
        "customers": customers,
        "products": products,
        "links": links,
        "cursors": cursors,
    }


def count(runtime: Runtime, tenant: Tenant, model: type) -> int:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.company_id == tenant.company_id)  # type: ignore[attr-defined]
            )
            or 0
        )
