"""The demo of ``make run``: the demo company has a sandbox Shopify store
connected, mounted inside the served app; the first sync brings its data,
and the demo job turns live updates on and places orders that arrive as
signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from copcca import demo
from copcca.main import create_app
from copcca.models.crm import Sale
from copcca.models.integrations import Integration, SyncLog
from copcca.runtime import Runtime
from copcca.sandbox import demo as sandbox_demo
from copcca.sandbox.server import free_port, serving
from tests.sync.helpers import log_of, request


@pytest.fixture
def served(runtime: Runtime) -> Iterator[str]:
    """The app in demo mode on a loopback port (webhooks come back to it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    runtime.settings = runtime.settings.model_copy(
        update={"demo": True, "base_url": url}
    )
    with serving(create_app(runtime.settings, runtime=runtime), port):
        yield url


def sales(runtime: Runtime, company_id: Any) -> int:
    with runtime.db.transaction(company_id, write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Sale)) or 0)


def test_demo_store_is_connected_syncs_and_keeps_taking_orders(
    runtime: Runtime, served: str
) -> None:
    _email, password = demo.ensure_demo(runtime)
    assert password
    company_id = sandbox_demo.company_file(runtime.settings).read_text().strip()
    with runtime.db.transaction(company_id, write=False) as session:  # type: ignore[arg-type]
        [row] = session.scalars(
            select(Integration).where(Integration.provider == "shopify")
        ).all()
    assert (row.name, row.provider) == (sandbox_demo.NAME, "shopify")
    assert row.config["api_base_url"] == f"{served}/sandbox/shopify"

    tenant: Any = SimpleNamespace(company_id=row.company_id)
    run_id = request(runtime, tenant, row.id)
    assert log_of(runtime, tenant, run_id).status == "success"
    assert sales(runtime, row.company_id) == sandbox_demo.STORE.orders

    sandbox_demo.tick(runtime)  # live updates on, then one new order
    sandbox_demo.tick(runtime)  # a second order; live updates stay on once

    assert sales(runtime, row.company_id) == sandbox_demo.STORE.orders + 2
    with runtime.db.transaction(row.company_id, write=False) as session:
        messages = [
            log.message
            for log in session.scalars(select(SyncLog).where(SyncLog.kind == "webhook"))
        ]
    assert sum(m.startswith("Live updates are on") for m in messages) == 1
    state = httpx.get(f"{served}/sandbox/shopify/_sandbox").json()
    assert len(state["subscriptions"]) == 6
    assert sandbox_demo.state_file(runtime.settings).exists()  # kept across restarts


def test_the_sandbox_is_not_served_outside_demo_mode(client: Any) -> None:
    assert client.get("/sandbox/shopify/_sandbox").status_code == 404
