"""The payments pages through a signed-in browser session: the Overview
panel leads to the queue; confirm, undo, dismiss and record work without
JavaScript; invoices get a request-payment form; members are kept out."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from copcca.crm.payments import record_payment
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.models.payments import PaymentRequest
from copcca.models.tenancy import Company, Role
from copcca.reconcile.service import reconcile
from copcca.runtime import Runtime
from tests.helpers import Tenant, add_member, login, make_company, page_csrf
from tests.payments.helpers import add_invoice, connect_mpesa, invoice


def _waiting_payment(runtime: Runtime, tenant: Tenant, amount: int) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        payment = record_payment(
            session,
            company,
            PaymentRecord(
                "mpesa", "SPAGE00001", amount, "KES", utcnow(), payer_phone="0712345678"
            ),
        ).payment
        reconcile(session, company, payment)
        return payment.id


def _held(runtime: Runtime, tenant: Tenant, integration: uuid.UUID) -> uuid.UUID:
    with runtime.db.transaction(tenant.company_id) as session:
        row = PaymentRequest(
            company_id=tenant.company_id,
            integration_id=integration,
            provider="mpesa",
            origin="notice",
            reference="SHELD00001",
            receipt="SHELD00001",
            amount_minor=30_000,
            currency="KES",
            status="needs_review",
            review_reason="unverified",
            claimed={},
            checks=0,
        )
        session.add(row)
        session.flush()
        return row.id


def test_overview_panel_queue_confirm_and_undo(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    inv = add_invoice(runtime, tenant, 100_000)
    payment = _waiting_payment(runtime, tenant, 100_000)  # phone only: unsure
    login(client, tenant.email)

    overview = client.get("/app/integrations/")
    assert 'data-testid="payments-attention"' in overview.text
    assert "1 payment is waiting for you to match it to an invoice." in overview.text
    queue = client.get("/app/integrations/payments")
    assert queue.status_code == 200
    assert "Paid from this customer's phone" in queue.text
    csrf = page_csrf(client, "/app/integrations/payments")

    done = client.post(
        f"/app/integrations/payments/{payment}/confirm",
        data={"csrf_token": csrf, "rank": "1"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert invoice(runtime, tenant, inv).paid_minor == 100_000
    assert (
        'data-testid="payments-attention"' not in client.get("/app/integrations/").text
    )

    client.post(f"/app/integrations/payments/{payment}/undo", data={"csrf_token": csrf})
    assert invoice(runtime, tenant, inv).paid_minor == 0


def test_held_callback_can_be_recorded_or_dismissed(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, "http://127.0.0.1:9")
    held = _held(runtime, tenant, integration)
    login(client, tenant.email)
    page = client.get("/app/integrations/payments")
    assert "We could not ask the provider to confirm it." in page.text
    csrf = page_csrf(client, "/app/integrations/payments")
    client.post(
        f"/app/integrations/payments/held/{held}/record", data={"csrf_token": csrf}
    )
    after = client.get("/app/integrations/payments").text
    assert "SHELD00001" in after
    assert 'data-testid="held-item"' not in after


def test_invoices_page_offers_request_payment_when_a_push_connection_exists(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    csrf = page_csrf(client, "/app/integrations/payments/invoices")
    made = client.post(
        "/app/integrations/payments/invoices",
        data={
            "csrf_token": csrf,
            "customer_name": "Wanjiku",
            "customer_phone": "0712345678",
            "amount": "1,500",
        },
        follow_redirects=True,
    )
    assert "Invoice INV-0001 created" in made.text
    assert "account number INV0001" in made.text
    assert "connect M-Pesa (with its passkey)" in made.text  # nothing to push with yet
    connect_mpesa(runtime, tenant, "http://127.0.0.1:9")
    page = client.get("/app/integrations/payments/invoices").text
    assert "Send payment prompt" in page
    assert re.search(r'name="amount"[^>]*value="1500.00"', page)


def test_connection_page_shows_c2b_addresses_and_steps(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, "http://127.0.0.1:9")
    login(client, tenant.email)
    page = client.get(f"/app/integrations/systems/{integration}").text
    assert 'data-testid="payment-connection"' in page
    assert "/hooks/c2b/" in page
    assert "/confirmation" in page
    assert "Register with M-Pesa" in page


def test_members_are_kept_out_of_payments(client: TestClient, runtime: Runtime) -> None:
    tenant = make_company(runtime)
    member = add_member(runtime, tenant, Role.MEMBER)
    _waiting_payment(runtime, tenant, 5_000)
    login(client, member.email)
    assert client.get("/app/integrations/payments").status_code == 403
    assert (
        'data-testid="payments-attention"' not in client.get("/app/integrations/").text
    )


def test_connecting_mpesa_checks_live_then_shows_where_to_register(
    client: TestClient, runtime: Runtime
) -> None:
    from copcca.sandbox.mpesa import SANDBOX_PASSKEY, DarajaEmulator
    from copcca.sandbox.server import serving

    tenant = make_company(runtime)
    login(client, tenant.email)
    emulator = DarajaEmulator(callback_prefix="http://captured.invalid")
    with serving(emulator.app) as url:
        csrf = page_csrf(client, "/app/integrations/connect/mpesa")
        fields = {
            "cfg_environment": "sandbox",
            "cfg_shortcode": "174379",
            "cfg_shortcode_type": "paybill",
            "cfg_consumer_key": "sandbox-key",
            "cfg_passkey": SANDBOX_PASSKEY,
            "cfg_api_base_url": url,
        }
        refused = client.post(
            "/app/integrations/connect/mpesa",
            data={**fields, "csrf_token": csrf, "cfg_consumer_secret": "wrong"},
        )
        assert refused.status_code == 422
        assert "M-Pesa refused the consumer key and secret." in refused.text
        done = client.post(
            "/app/integrations/connect/mpesa",
            data={
                **fields,
                "csrf_token": csrf,
                "cfg_consumer_secret": "sandbox-secret",
            },
            follow_redirects=True,
        )
    assert "Now give the provider the addresses below" in done.text
    assert 'data-testid="payment-connection"' in done.text
    assert "Setup is not finished" not in done.text
