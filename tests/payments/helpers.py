"""Shop, invoices and an M-Pesa connection pointed at the Daraja emulator,
plus ``deliver``: what the inbox job does with one stored callback."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from copcca.connectors.mpesa.connector import MpesaConnector
from copcca.connectors.mpesa.webhooks import KIND_HEADER
from copcca.crm.ingest import Ingestor
from copcca.crm.invoices import NewInvoice, create_invoice
from copcca.integrations import service
from copcca.models.crm import Invoice, Payment
from copcca.models.integrations import Integration
from copcca.models.tenancy import Company
from copcca.payments.context import payment_context
from copcca.runtime import Runtime
from copcca.sandbox.mpesa import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, DarajaEmulator
from tests.helpers import Tenant

CAPTURE = "http://captured.invalid"  # the emulator records callbacks, sends none


def connect_mpesa(
    runtime: Runtime, tenant: Tenant, api_base_url: str, **overrides: Any
) -> uuid.UUID:
    credentials = {
        "environment": "sandbox",
        "shortcode": SANDBOX_SHORTCODE,
        "consumer_key": "sandbox-key",
        "consumer_secret": "sandbox-secret",
        "passkey": SANDBOX_PASSKEY,
        "initiator_name": "testapi",
        "security_credential": "sandbox-credential",
        "api_base_url": api_base_url,
        **overrides,
    }
    credentials = {k: v for k, v in credentials.items() if v is not None}
    with runtime.db.transaction(tenant.company_id) as session:
        row = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(provider="mpesa", credentials=credentials),
        )
        return row.id


def add_invoice(
    runtime: Runtime,
    tenant: Tenant,
    amount_minor: int,
    *,
    customer: str = "Wanjiku Kamau",
    phone: str | None = "0712345678",
    number: str | None = None,
) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        invoice = create_invoice(
            session,
            tenant.principal,
            company,
            NewInvoice(
                customer_name=customer,
                customer_phone=phone,
                amount_minor=amount_minor,
                number=number,
            ),
        )
        return invoice.id


def deliver(
    runtime: Runtime,
    tenant: Tenant,
    integration_id: uuid.UUID,
    body: bytes | dict[str, Any],
    *,
    kind: str | None = None,
) -> None:
    """Process one delivery as the inbox job does: parse, apply outside any
    transaction (the connector may ask Daraja), then upsert the evidence."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    connector = MpesaConnector()
    headers = {KIND_HEADER: kind} if kind else {}
    events = connector.parse_webhook(raw, headers)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        integration = session.get(Integration, integration_id)
        company = session.get(Company, tenant.company_id)
        assert integration is not None
        assert company is not None
    with payment_context(runtime, integration, company) as ctx:
        records = [r for e in events for r in connector.apply_webhook(ctx, e)]
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        ingest = Ingestor(session, company, integration_id, source="mpesa")
        for record in records:
            ingest.upsert(record)


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def sent_to(
    emu: DarajaEmulator, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Wait until the emulator has produced ``count`` callbacks; their bodies."""
    wait_for(lambda: len(emu.sent) >= count, timeout)
    return [s.body for s in emu.sent[:count]]


def payments(runtime: Runtime, tenant: Tenant) -> list[Payment]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(
            session.scalars(
                select(Payment).where(Payment.company_id == tenant.company_id)
            )
        )


def invoice(runtime: Runtime, tenant: Tenant, invoice_id: uuid.UUID) -> Invoice:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Invoice, invoice_id)
        assert row is not None
        return row


def count(runtime: Runtime, tenant: Tenant, model: Any, *where: Any) -> int:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        stmt = (
            select(func.count())
            .select_from(model)
            .where(model.company_id == tenant.company_id, *where)
        )
        return int(session.scalar(stmt) or 0)


def connect(
    runtime: Runtime, tenant: Tenant, provider: str, credentials: dict[str, Any]
) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        row = service.connect(
            session,
            tenant.principal,
            runtime.vault,
            service.NewIntegration(provider=provider, credentials=credentials),
        )
        return row.id


def hook_url(runtime: Runtime, tenant: Tenant, integration_id: uuid.UUID) -> str:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return f"{runtime.settings.base_url}/hooks/{row.provider}/{row.callback_token}"
