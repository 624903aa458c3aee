"""The conformance suite every connector with streams passes (item 11).

Plug a connector and its emulator in by subclassing
:class:`ConnectorConformance` in a ``test_*.py`` file and giving it a
``conformance`` fixture that returns a :class:`ConformanceTarget`::

    class TestShopifyConformance(ConnectorConformance):
        @pytest.fixture
        def conformance(self, shopify_emulator) -> ConformanceTarget:
            return ConformanceTarget(
                provider="shopify",
                credentials={...good...},
                bad_credentials={...revoked token...},
                throttle=lambda n: shopify_emulator.throttle_next(n),
                fail=lambda n: shopify_emulator.fail_next(n, 502),
                change=lambda: shopify_emulator.touch_one_order(),
                paged_stream="orders",
            )

Everything goes through the real app code: the registry, the stored
(sealed) credentials, the sync engine and the connector's HTTP client
against the emulator. Each test uses fresh companies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Uuid, select

from copcca.connectors.registry import get_provider
from copcca.integrations import service
from copcca.models import (
    Customer,
    ExternalId,
    Invoice,
    Payment,
    Product,
    Sale,
    SaleLine,
)
from copcca.models.integrations import Integration, SyncState
from copcca.models.sync import RunStatus
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.sync.context import connector_for, unsaved_context
from tests.helpers import Tenant, make_company
from tests.sync.helpers import log_of, request, run_now, run_row

CRM_TABLES = (Customer, Product, Sale, SaleLine, Invoice, Payment)
SKIPPED_COLUMNS = {"created_at", "updated_at"}


@dataclass
class ConformanceTarget:
    provider: str
    credentials: dict[str, Any]
    bad_credentials: dict[str, Any]
    throttle: Callable[[int], None]  # next n data calls: 429 with a short Retry-After
    fail: Callable[[int], None]  # next n data calls: a 5xx
    change: Callable[[], None]  # change one record, so an incremental sync sees it
    paged_stream: str  # a stream whose data spans at least two pages
    streams: list[str] | None = None  # CRM entities to sync (default: all)


def connect(
    runtime: Runtime, tenant: Tenant, target: ConformanceTarget, *, bad: bool = False
) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        integration = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(
                provider=target.provider,
                credentials=target.bad_credentials if bad else target.credentials,
                streams=target.streams,
                schedule=False,
            ),
        )
        return integration.id


def snapshot(runtime: Runtime, tenant: Tenant) -> dict[str, list[tuple[Any, ...]]]:
    """Every CRM table of the company, without ids and bookkeeping times, so
    two companies synced from the same data compare equal."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        for model in CRM_TABLES:
            columns = [
                c
                for c in model.__table__.columns
                if not isinstance(c.type, Uuid) and c.name not in SKIPPED_COLUMNS
            ]
            rows = session.execute(
                select(*columns).where(model.company_id == tenant.company_id)
            ).all()
            out[model.__tablename__] = sorted(
                (tuple(map(_plain, r)) for r in rows), key=repr
            )
        links = session.execute(
            select(ExternalId.entity, ExternalId.external_id).where(
                ExternalId.company_id == tenant.company_id
            )
        ).all()
        out["external_ids"] = sorted(tuple(r) for r in links)
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def cursors(runtime: Runtime, tenant: Tenant) -> dict[str, dict[str, Any]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.scalars(select(SyncState)).all()
        return {r.stream: dict(r.cursor) for r in rows}


def status_of(runtime: Runtime, tenant: Tenant, integration_id: uuid.UUID) -> str:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return row.status


class ConnectorConformance:
    """The shared tests. Subclasses provide the ``conformance`` fixture."""

    @pytest.fixture
    def conformance(self) -> ConformanceTarget:  # pragma: no cover - overridden
        raise NotImplementedError("give the suite a ConformanceTarget")

    def _golden(self, runtime: Runtime, target: ConformanceTarget) -> dict[str, Any]:
        tenant = make_company(runtime, name=f"Golden {uuid.uuid4().hex[:6]}")
        run_id = request(runtime, tenant, connect(runtime, tenant, target))
        assert run_row(runtime, tenant, run_id).status == RunStatus.SUCCEEDED
        return snapshot(runtime, tenant)

    def test_registered_with_streams(self, conformance: ConformanceTarget) -> None:
        info = get_provider(conformance.provider)
        assert info.available
        assert "sync" in info.capabilities

    def test_bad_credentials_give_an_auth_error_and_needs_reconnect(
        self, runtime: Runtime, conformance: ConformanceTarget
    ) -> None:
        tenant = make_company(runtime)
        connector = connector_for(conformance.provider)
        with runtime.db.transaction(tenant.company_id, write=False) as session:
            company = session.get(Company, tenant.company_id)
            assert company is not None
        with unsaved_context(
            company, conformance.provider, conformance.bad_credentials
        ) as ctx:
            result = connector.check(ctx)
        assert (result.ok, result.error_kind) == (False, "auth")
        assert result.message

        iid = connect(runtime, tenant, conformance, bad=True)
        run_id = request(runtime, tenant, iid)
        run = run_row(runtime, tenant, run_id)
        assert (run.status, run.attempts) == (RunStatus.FAILED, 1)
        assert log_of(runtime, tenant, run_id).error_kind == "auth"
        assert status_of(runtime, tenant, iid) == "needs_reconnect"

    def test_first_sync_from_empty_state(
        self, runtime: Runtime, conformance: ConformanceTarget
    ) -> None:
        tenant = make_company(runtime)
        connector = connector_for(conformance.provider)
        with runtime.db.transaction(tenant.company_id, write=False) as session:
            company = session.get(Company, tenant.company_id)
            assert company is not None
        with unsaved_context(
            company, conformance.provider, conformance.credentials
        ) as ctx:
            assert connector.check(ctx).ok
            names = {s.info.name for s in connector.streams(ctx)}

        iid = connect(runtime, tenant, conformance)
        run_id = request(runtime, tenant, iid)

        assert run_row(runtime, tenant, run_id).status == RunStatus.SUCCEEDED
        log = log_of(runtime, tenant, run_id)
        assert log.status == "success"
        assert log.created_count > 0
        assert log.failed_count == 0
        assert conformance.paged_stream in cursors(runtime, tenant)
        assert set(cursors(runtime, tenant)) <= names
        assert status_of(runtime, tenant, iid) == "connected"

    def test_rerun_creates_no_duplicates(
        self, runtime: Runtime, conformance: ConformanceTarget
    ) -> None:
        tenant = make_company(runtime)
        iid = connect(runtime, tenant, conformance)
        request(runtime, tenant, iid)
        first = snapshot(runtime, tenant)

        again = request(runtime, tenant, iid)
        full = request(runtime, tenant, iid, full_resync=True)

        assert snapshot(runtime, tenant) == first
        assert log_of(runtime, tenant, again).created_count == 0
        full_log = log_of(runtime, tenant, full)
        assert (full_log.status, full_log.created_count) == ("success", 0)

    def test_resume_from_a_saved_cursor(
        self,
        runtime: Runtime,
        conformance: ConformanceTarget,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        expected = self._golden(runtime, conformance)
        tenant = make_company(runtime)
        iid = connect(runtime, tenant, conformance)
        monkeypatch.setenv("COPCCA_FAULT", f"after_upsert:{conformance.paged_stream}:2")
        monkeypatch.setenv("COPCCA_FAULT_ACTION", "raise")

        run_id = request(runtime, tenant, iid)
        assert run_row(runtime, tenant, run_id).status == RunStatus.QUEUED
        saved = cursors(runtime, tenant)[conformance.paged_stream]
        assert saved  # page 1 committed its cursor; page 2 rolled back

        monkeypatch.delenv("COPCCA_FAULT")
        assert run_now(runtime, tenant, run_id) == RunStatus.SUCCEEDED
        assert snapshot(runtime, tenant) == expected

    def test_incremental_sync_picks_up_a_change(
        self, runtime: Runtime, conformance: ConformanceTarget
    ) -> None:
        tenant = make_company(runtime)
        iid = connect(runtime, tenant, conformance)
        request(runtime, tenant, iid)

        conformance.change()
        run_id = request(runtime, tenant, iid)

        log = log_of(runtime, tenant, run_id)
        assert log.status == "success"
        assert log.created_count == 0
        assert log.updated_count >= 1

    def test_throttling_and_server_errors_are_handled(
        self, runtime: Runtime, conformance: ConformanceTarget
    ) -> None:
        expected = self._golden(runtime, conformance)
        tenant = make_company(runtime)
        iid = connect(runtime, tenant, conformance)
        conformance.throttle(2)
        conformance.fail(2)

        run_id = request(runtime, tenant, iid)

        run = run_row(runtime, tenant, run_id)
        if run.status == RunStatus.QUEUED:  # the HTTP layer gave up: the engine retries
            assert run_now(runtime, tenant, run_id) == RunStatus.SUCCEEDED
        assert run_row(runtime, tenant, run_id).status == RunStatus.SUCCEEDED
        assert snapshot(runtime, tenant) == expected


@dataclass
class WebhookTarget:
    """What the webhook part of the suite needs from a provider (W1, W7)."""

    provider: str
    credentials: dict[str, Any]  # including the webhook signing secret
    body: bytes  # a real delivery body, compact JSON
    sign: Callable[[bytes, str], dict[str, str]]  # (body, secret) -> all headers
    secret: str  # the signing secret in ``credentials``
    signature_header: str  # lower-case name of the header that carries the MAC


class WebhookConformance:
    """W1 and W7 for a provider's receiver, through ``/hooks/...``.
    Subclasses provide the ``webhook_target`` fixture."""

    @pytest.fixture
    def webhook_target(self) -> WebhookTarget:  # pragma: no cover - overridden
        raise NotImplementedError("give the suite a WebhookTarget")

    def _path(self, runtime: Runtime, tenant: Tenant, target: WebhookTarget) -> str:
        with runtime.db.transaction(tenant.company_id) as session:
            row = service.connect(
                session,
                tenant.principal,
                runtime.vault,
                service.NewIntegration(
                    provider=target.provider,
                    credentials=target.credentials,
                    schedule=False,
                ),
            )
            return f"/hooks/{target.provider}/{row.callback_token}"

    def _stored(self, runtime: Runtime, tenant: Tenant) -> int:
        from copcca.models.integrations import WebhookInbox

        with runtime.db.transaction(tenant.company_id, write=False) as session:
            return len(session.scalars(select(WebhookInbox.id)).all())

    def test_valid_delivery_is_stored_once(
        self, runtime: Runtime, client: Any, webhook_target: WebhookTarget
    ) -> None:
        tenant = make_company(runtime)
        path = self._path(runtime, tenant, webhook_target)
        headers = webhook_target.sign(webhook_target.body, webhook_target.secret)

        first = client.post(path, content=webhook_target.body, headers=headers)
        again = client.post(path, content=webhook_target.body, headers=headers)

        assert (first.status_code // 100, again.status_code // 100) == (2, 2)
        assert self._stored(runtime, tenant) >= 1
        stored = self._stored(runtime, tenant)
        client.post(path, content=webhook_target.body, headers=headers)
        assert self._stored(runtime, tenant) == stored

    @pytest.mark.parametrize(
        "case", ["tampered", "wrong-secret", "missing-header", "reserialised"]
    )
    def test_unauthentic_delivery_is_refused(
        self,
        runtime: Runtime,
        client: Any,
        webhook_target: WebhookTarget,
        case: str,
    ) -> None:
        import json

        tenant = make_company(runtime)
        path = self._path(runtime, tenant, webhook_target)
        body = webhook_target.body
        headers = webhook_target.sign(body, webhook_target.secret)
        if case == "tampered":
            body = body[:-1] + b" " + body[-1:]
        elif case == "wrong-secret":
            headers = webhook_target.sign(body, webhook_target.secret + "x")
        elif case == "missing-header":
            headers = {
                k: v
                for k, v in headers.items()
                if k.lower() != webhook_target.signature_header
            }
        else:
            body = json.dumps(json.loads(body), indent=1).encode()

        response = client.post(path, content=body, headers=headers)

        assert response.status_code == 401
        assert self._stored(runtime, tenant) == 0
