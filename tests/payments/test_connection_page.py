"""A payment connection's page: no sync controls (payments arrive by
callback), but the last callback, the balance and "Request payment"; and
yes/no settings as checkboxes, fixed lists as selects, for every provider."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.connectors.registry import all_providers, get_provider
from copcca.integrations.schemas import config_fields, field_kind
from copcca.models.integrations import Integration
from copcca.models.payments import PaymentRequest
from copcca.models.sync import SyncRun
from copcca.runtime import Runtime
from copcca.sandbox.mpesa import Transaction
from tests.helpers import csrf_from, login, make_company
from tests.payments.conftest import Daraja
from tests.payments.helpers import add_invoice, connect_mpesa, count

PAGE = "/app/integrations/systems/{}"


def _signed_in(client: TestClient, runtime: Runtime, daraja: Daraja, **extra: object):  # type: ignore[no-untyped-def]
    tenant = make_company(runtime)
    integration_id = connect_mpesa(runtime, tenant, daraja.url, **extra)
    login(client, tenant.email)
    return tenant, integration_id


def _config(
    runtime: Runtime, tenant_company: uuid.UUID, integration_id: uuid.UUID
) -> dict[str, object]:
    with runtime.db.transaction(tenant_company, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return dict(row.config)


def test_payment_page_has_no_sync_controls_and_says_no_callback_yet(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    _tenant, integration_id = _signed_in(client, runtime, daraja)
    html = client.get(PAGE.format(integration_id)).text
    assert 'value="sync"' not in html
    assert 'value="full_sync"' not in html
    assert 'name="frequency"' not in html
    assert 'name="streams"' not in html
    assert re.search(r'data-testid="last-callback">\s*None yet', html)
    assert 'data-testid="no-callback-yet"' in html
    # Callback addresses and how to register them stay on the page.
    assert "/hooks/c2b/" in html
    assert "Register with M-Pesa" in html


def test_posting_sync_now_anyway_starts_no_run(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    tenant, integration_id = _signed_in(client, runtime, daraja)
    csrf = csrf_from(client.get(PAGE.format(integration_id)).text)
    answer = client.post(
        PAGE.format(integration_id),
        data={"csrf_token": csrf, "action": "sync"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(str(integration_id))
    assert count(runtime, tenant, SyncRun) == 0


def test_page_shows_when_the_last_callback_arrived(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    tenant, integration_id = _signed_in(client, runtime, daraja)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        token = session.get(Integration, integration_id).callback_token  # type: ignore[union-attr]
    txn = Transaction(
        "SPAGE00001", 250, "254712345678", "X", "174379", "Juma", "20260301120000"
    )
    daraja.emu.transactions[txn.receipt] = txn
    answer = client.post(
        f"/hooks/c2b/{token}/confirmation",
        content=json.dumps(daraja.emu.c2b_body(txn)).encode(),
    )
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    html = client.get(PAGE.format(integration_id)).text
    assert not re.search(r'data-testid="last-callback">\s*None yet', html)
    assert 'data-testid="no-callback-yet"' not in html


def test_balance_check_result_is_shown_on_the_page(
    runtime: Runtime, client: TestClient, daraja: Daraja, hub: str
) -> None:
    _tenant, integration_id = _signed_in(client, runtime, daraja)
    daraja.emu.callback_prefix = None  # the emulator calls the live hub back
    csrf = csrf_from(client.get(PAGE.format(integration_id)).text)
    client.post(
        f"/app/integrations/payments/connections/{integration_id}/balance",
        data={"csrf_token": csrf},
    )
    from tests.payments.helpers import wait_for

    wait_for(
        lambda: "Working Account" in client.get(PAGE.format(integration_id)).text,
        timeout=15,
    )


def test_request_payment_from_the_connection_page_pushes_to_the_phone(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    tenant, integration_id = _signed_in(client, runtime, daraja)
    invoice_id = add_invoice(runtime, tenant, 150_000, number="INV-0042")
    html = client.get(PAGE.format(integration_id)).text
    assert 'data-testid="request-payment"' in html
    assert f'value="{invoice_id}"' in html
    answer = client.post(
        f"/app/integrations/payments/connections/{integration_id}/request",
        data={"csrf_token": csrf_from(html), "invoice_id": str(invoice_id)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert daraja.emu.counts.get("stk_push") == 1
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        [row] = session.scalars(select(PaymentRequest)).all()
    assert (row.invoice_id, row.amount_minor) == (invoice_id, 150_000)


# ------------------------------------------------------------ form controls
def test_field_kinds_follow_the_type() -> None:
    assert field_kind(bool, False) == ("boolean", None)
    assert field_kind(bool | None, False) == ("boolean", None)
    assert field_kind(Literal["a", "b"], False) == ("choice", ["a", "b"])
    assert field_kind(Literal["a", "b"] | None, False) == ("choice", ["a", "b"])
    assert field_kind(str, False) == ("text", None)
    assert field_kind(str, True) == ("secret", None)


@pytest.mark.parametrize("provider", [p.key for p in all_providers()])
def test_every_boolean_setting_is_a_checkbox_in_the_connect_form(
    runtime: Runtime, client: TestClient, provider: str
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    html = client.get(f"/app/integrations/connect/{provider}").text
    for f in config_fields(get_provider(provider)):
        if f.kind == "boolean":
            assert re.search(
                rf'type="checkbox" id="cfg_{f.name}" name="cfg_{f.name}"', html
            )
        elif f.kind == "choice":
            assert f'<select id="cfg_{f.name}" name="cfg_{f.name}">' in html
        else:
            assert re.search(rf'<input id="cfg_{f.name}" name="cfg_{f.name}"', html)


def test_tigo_hold_for_review_is_a_checkbox_not_a_text_box(
    runtime: Runtime, client: TestClient
) -> None:
    tenant = make_company(runtime, country="TZ")
    login(client, tenant.email)
    html = client.get("/app/integrations/connect/tigo_pesa").text
    assert 'type="checkbox" id="cfg_hold_for_review" name="cfg_hold_for_review"' in html
    assert '<input id="cfg_hold_for_review"' not in html


def test_ticking_and_unticking_a_setting_saves_true_then_false(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    tenant, integration_id = _signed_in(client, runtime, daraja)
    url = PAGE.format(integration_id)
    plain = {
        "cfg_environment": "sandbox",
        "cfg_shortcode": "174379",
        "cfg_shortcode_type": "paybill",
        "cfg_api_base_url": daraja.url,
        "action": "credentials",
    }
    client.post(
        url,
        data={
            **plain,
            "csrf_token": csrf_from(client.get(url).text),
            "cfg_reject_unknown_accounts": "on",
        },
    )
    assert (
        _config(runtime, tenant.company_id, integration_id)["reject_unknown_accounts"]
        is True
    )
    html = client.get(url).text
    assert re.search(r'name="cfg_reject_unknown_accounts" value="on" checked', html)
    client.post(url, data={**plain, "csrf_token": csrf_from(html)})
    assert (
        _config(runtime, tenant.company_id, integration_id)["reject_unknown_accounts"]
        is False
    )


def test_payment_connection_made_over_the_api_is_never_scheduled_to_sync(
    runtime: Runtime, client: TestClient, daraja: Daraja
) -> None:
    from copcca.sync.scheduler import start_due
    from tests.helpers import api_key_for, bearer

    tenant = make_company(runtime)
    answer = client.post(
        "/api/v1/integrations",
        headers=bearer(api_key_for(runtime, tenant)),
        json={
            "provider": "mpesa",
            "frequency": "hourly",
            "credentials": {
                "shortcode": "174379",
                "consumer_key": "k",
                "consumer_secret": "s",
                "api_base_url": daraja.url,
            },
        },
    )
    assert answer.status_code == 201, answer.text
    with runtime.db.transaction(tenant.company_id) as session:
        row = session.scalars(select(Integration)).one()
        assert row.next_sync_at is None
        assert start_due(session, tenant.company_id, datetime.now(UTC)) == []

    # Even a connection that has a next sync time (made before payment rails
    # stopped being scheduled) is not started, and asking over the API says why.
    with runtime.db.transaction(tenant.company_id) as session:
        row = session.scalars(select(Integration)).one()
        row.next_sync_at = datetime.now(UTC)
        assert start_due(session, tenant.company_id, datetime.now(UTC)) == []
    answer = client.post(
        f"/api/v1/integrations/{row.id}/sync",
        headers=bearer(api_key_for(runtime, tenant)),
    )
    assert answer.status_code == 409, answer.text
    assert "nothing to sync" in answer.json()["message"]
