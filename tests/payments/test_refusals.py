"""Malformed and refused callbacks (issue 4, "Bad input"): each gets the
answer its provider's protocol expects AND leaves one plain line in the
Sync Logs, without the body, the callback token or anything secret."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from copcca.models.integrations import Integration, SyncLog, WebhookInbox
from copcca.runtime import Runtime
from copcca.sandbox.flutterwave import FlutterwaveEmulator
from copcca.sandbox.mpesa import Transaction
from copcca.sandbox.paypal import PayPalEmulator
from copcca.webhooks.inbound import refusals
from tests.helpers import Tenant, make_company
from tests.payments.conftest import Daraja
from tests.payments.helpers import connect_mpesa, count, payments, wait_for
from tests.payments.test_other_rails import (
    _call,
    _flw_shop,
    _paypal_shop,
    _run,
)

PHONE = "254712345678"


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test starts with no refusal noted yet in this process.
    monkeypatch.setattr(refusals, "_throttle", refusals._Throttle())


@dataclass
class Till:
    tenant: Tenant
    integration_id: uuid.UUID
    token: str


@pytest.fixture
def till(runtime: Runtime, daraja: Daraja, hub: str) -> Till:
    tenant = make_company(runtime)
    integration_id = connect_mpesa(runtime, tenant, daraja.url)
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return Till(tenant, integration_id, str(row.callback_token))


def _lines(runtime: Runtime, tenant: Tenant) -> list[SyncLog]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(SyncLog).order_by(SyncLog.started_at)).all())


def _refused(runtime: Runtime, tenant: Tenant) -> list[SyncLog]:
    return [
        row
        for row in _lines(runtime, tenant)
        if (row.details or {}).get("refused") is not None
    ]


def _no_secrets(row: SyncLog, *secrets: str) -> None:
    text = f"{row.message} {row.fix} {json.dumps(row.details)}"
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("path", ["/hooks/mpesa/{}", "/hooks/c2b/{}/confirmation"])
def test_bad_json_is_refused_the_daraja_way_and_logged_without_the_body(
    runtime: Runtime, hub: str, till: Till, path: str
) -> None:
    body = b'{"TransID": "SBAD000001", "MSISDN": "' + PHONE.encode() + b'", '
    answer = httpx.post(hub + path.format(till.token), content=body, timeout=30)
    assert answer.status_code == 400
    assert answer.json() == {
        "ResultCode": 1,
        "ResultDesc": "Rejected: not a valid callback",
    }
    [line] = _refused(runtime, till.tenant)
    assert line.status == "failed"
    assert line.integration_id == till.integration_id
    assert line.message.startswith(
        "A callback from M-Pesa could not be read (the callback body is not valid JSON"
    )
    assert "Nothing was credited" in line.message
    _no_secrets(line, PHONE, "SBAD000001", till.token)
    assert payments(runtime, till.tenant) == []


def test_the_same_refusal_repeated_is_one_line_then_a_count(
    runtime: Runtime, hub: str, till: Till, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        httpx.post(f"{hub}/hooks/mpesa/{till.token}", content=b"{%d" % n, timeout=30)
    assert len(_refused(runtime, till.tenant)) == 1
    monkeypatch.setattr(refusals, "WINDOW", 0.0)
    httpx.post(f"{hub}/hooks/mpesa/{till.token}", content=b"{9", timeout=30)
    lines = _refused(runtime, till.tenant)
    assert len(lines) == 2
    assert "2 more like it in the last minute were left out" in lines[1].message


def test_wrong_path_token_is_404_and_logged_for_the_company(
    runtime: Runtime, hub: str, till: Till
) -> None:
    wrong = till.token[:-4] + ("AAAA" if not till.token.endswith("AAAA") else "BBBB")
    for path in (f"/hooks/mpesa/{wrong}", f"/hooks/c2b/{wrong}/confirmation"):
        answer = httpx.post(hub + path, content=b"{}", timeout=30)
        assert answer.status_code == 404
    [line] = _refused(runtime, till.tenant)  # the second was left out (a minute)
    assert line.details["refused"] == "address"
    assert "not (or no longer) this connection's" in line.message
    _no_secrets(line, wrong, till.token)
    assert count(runtime, till.tenant, WebhookInbox) == 0


def test_token_of_a_company_without_that_provider_logs_nothing(
    runtime: Runtime, hub: str
) -> None:
    tenant = make_company(runtime)
    token = f"{tenant.company_id.hex}.{'x' * 24}"
    answer = httpx.post(f"{hub}/hooks/mpesa/{token}", content=b"{}", timeout=30)
    assert answer.status_code == 404
    assert _lines(runtime, tenant) == []


def test_callback_from_outside_the_allowlist_is_401_and_logged(
    runtime: Runtime, hub: str, daraja: Daraja
) -> None:
    tenant = make_company(runtime)
    integration_id = connect_mpesa(
        runtime, tenant, daraja.url, allowed_ips="196.201.214.0/24"
    )
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        token = str(session.get(Integration, integration_id).callback_token)  # type: ignore[union-attr]
    answer = httpx.post(
        f"{hub}/hooks/c2b/{token}/confirmation", content=b"{}", timeout=30
    )
    assert answer.status_code == 401
    [line] = _refused(runtime, tenant)
    assert line.details["refused"] == "source"
    assert "127.0.0.1" in line.message
    assert "allowlist" in line.message


def test_unknown_shortcode_is_acknowledged_quarantined_and_logged(
    runtime: Runtime, hub: str, till: Till, daraja: Daraja
) -> None:
    txn = Transaction(
        "SOTHER0001", 700, PHONE, "INV1", "999999", "Juma", "20260301120000"
    )
    answer = httpx.post(
        f"{hub}/hooks/c2b/{till.token}/confirmation",
        content=json.dumps(daraja.emu.c2b_body(txn)).encode(),
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}
    line = wait_for(
        lambda: next(
            (r for r in _lines(runtime, till.tenant) if "another paybill" in r.message),
            None,
        )
    )
    assert "was not credited" in line.message
    assert payments(runtime, till.tenant) == []
    assert "transaction_status" not in daraja.emu.counts


def test_flutterwave_bad_hash_is_401_and_logged_without_the_hash(
    runtime: Runtime, flutterwave: tuple[FlutterwaveEmulator, str]
) -> None:
    emu, url = flutterwave
    tenant, _ = _flw_shop(runtime, flutterwave)
    _call(
        url,
        "/_sandbox/charge",
        {"amount": "500", "currency": "NGN", "tx_ref": "X", "tamper": True},
    )
    wait_for(lambda: emu.sent and emu.sent[0].status is not None)
    assert emu.sent[0].status == 401
    [line] = _refused(runtime, tenant)
    assert line.details["refused"] == "signature"
    assert line.message.startswith("A delivery from Flutterwave was refused")
    _no_secrets(line, "sandbox-hash", "not-the-secret", "FLWSECK")
    assert count(runtime, tenant, WebhookInbox) == 0
    assert "verify" not in emu.counts


def test_flutterwave_payment_in_another_currency_is_acknowledged_and_logged(
    runtime: Runtime, flutterwave: tuple[FlutterwaveEmulator, str]
) -> None:
    emu, url = flutterwave
    tenant, _ = _flw_shop(runtime, flutterwave)
    _call(
        url, "/_sandbox/charge", {"amount": "50", "currency": "USD", "tx_ref": "INV9"}
    )
    wait_for(lambda: emu.sent and emu.sent[0].status is not None)
    assert emu.sent[0].status == 200  # Flutterwave retries anything else
    line = wait_for(
        lambda: next(
            (r for r in _lines(runtime, tenant) if "Needs your attention" in r.message),
            None,
        )
    )
    assert line.message.startswith("US$ 50 from")


def test_paypal_bad_signature_is_401_and_logged(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, _ = paypal
    tenant, _ = _paypal_shop(runtime, paypal)
    _run(emu, "capture", value="10.00", currency="USD", invoice_id="X", tamper=True)
    wait_for(lambda: emu.sent and emu.sent[0].status is not None)
    assert emu.sent[0].status == 401
    [line] = _refused(runtime, tenant)
    assert line.message.startswith("A delivery from PayPal was refused")
    _no_secrets(line, "paypal-secret", "WH-SANDBOX")
    assert count(runtime, tenant, WebhookInbox) == 0
    assert payments(runtime, tenant) == []


def test_c2b_with_an_unreadable_amount_is_acknowledged_then_fails_in_words(
    runtime: Runtime, hub: str, till: Till, daraja: Daraja
) -> None:
    """Receipt checks only the receipt number (the fast path); the amount is
    read when the payment is processed, and a bad one fails there, kept and
    logged, never credited. Daraja gets its "Success" and stops retrying."""
    txn = Transaction(
        "SBADAMT001", 700, PHONE, "INV1", "174379", "Juma", "20260301120000"
    )
    body = daraja.emu.c2b_body(txn) | {"TransAmount": "ten shillings"}
    answer = httpx.post(
        f"{hub}/hooks/c2b/{till.token}/confirmation",
        content=json.dumps(body).encode(),
        timeout=30,
    )
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Success"}

    def failed_row() -> WebhookInbox | None:
        with runtime.db.transaction(till.tenant.company_id, write=False) as session:
            return session.scalars(
                select(WebhookInbox).where(WebhookInbox.status == "failed")
            ).first()

    row = wait_for(failed_row)
    assert row.error
    line = wait_for(
        lambda: next(
            (r for r in _lines(runtime, till.tenant) if r.kind == "webhook"), None
        )
    )
    assert line.status == "failed"
    assert PHONE not in line.message
    assert payments(runtime, till.tenant) == []
