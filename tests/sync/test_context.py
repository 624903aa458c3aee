"""Connector contexts: secrets opened for the connector, rotated secrets
sealed in their own committed transaction before use, one refresh for
many concurrent jobs (S5)."""

from __future__ import annotations

import threading
from datetime import timedelta

from copcca.db.base import utcnow
from copcca.integrations.credentials import open_secrets
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sync.context import open_context
from tests.connectors.fixtures import connect_store
from tests.connectors.store import TestStore
from tests.helpers import make_company


def _load(
    runtime: Runtime, company_id: object, iid: object
) -> tuple[Integration, Company]:
    with runtime.db.transaction(company_id, write=False) as session:  # type: ignore[arg-type]
        row = session.get(Integration, iid)
        company = session.get(Company, company_id)
        assert row is not None
        assert company is not None
        return row, company


def test_saved_secrets_are_committed_before_they_are_used(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    row, company = _load(runtime, tenant.company_id, iid)
    ends = utcnow() + timedelta(days=60)

    with open_context(runtime.db, runtime.vault, row, company) as ctx:
        assert ctx.config["api_key"] == store.api_key
        assert ctx.save_secrets is not None
        ctx.save_secrets({"api_key": "rotated-1"}, expires_at=ends)
        # Already committed: another session sees it before we use it.
        stored, _ = _load(runtime, tenant.company_id, iid)
        assert open_secrets(runtime.vault, stored)["api_key"] == "rotated-1"
        assert stored.token_expires_at == ends
        assert ctx.config["api_key"] == "rotated-1"


def test_ten_concurrent_jobs_needing_a_refresh_trigger_one(
    runtime: Runtime, store: TestStore
) -> None:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store, api_key="expired-token")
    row, company = _load(runtime, tenant.company_id, iid)
    barrier = threading.Barrier(10)
    seen: list[str] = []

    def refresh(_secrets: dict[str, str]) -> dict[str, str]:
        import httpx

        reply = httpx.post(
            f"{store.url}/oauth/token", data={"grant_type": "refresh_token"}, timeout=10
        )
        return {"api_key": reply.json()["access_token"]}

    def job() -> None:
        with open_context(runtime.db, runtime.vault, row, company) as ctx:
            assert ctx.refresh_secrets is not None
            barrier.wait()
            ctx.refresh_secrets(lambda s: s["api_key"] == "expired-token", refresh)
            seen.append(ctx.config["api_key"])

    threads = [threading.Thread(target=job) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert store.refresh_calls == 1
    assert seen == ["tok-refreshed-1"] * 10
    stored, _ = _load(runtime, tenant.company_id, iid)
    assert open_secrets(runtime.vault, stored)["api_key"] == "tok-refreshed-1"
