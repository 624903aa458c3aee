"""Callbacks over real HTTP to a live server on loopback, from many threads
at once: P1 (the same callback 100 times: one payment, every answer the
success Daraja expects), P2 concurrently, P4 (wrong path token, IP
allowlist), C2B validation, and malformed bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from copcca.main import create_app
from copcca.models.crm import InvoiceStatus, PaymentStatus
from copcca.models.integrations import Integration, WebhookInbox
from copcca.models.payments import PaymentRequest
from copcca.models.webhooks import Event
from copcca.payments.mpesa import register_c2b_urls
from copcca.payments.requests import PushInput, request_payment
from copcca.runtime import Runtime
from copcca.sandbox.mpesa import DarajaEmulator
from copcca.sandbox.server import free_port, serving
from tests.helpers import Tenant, make_company
from tests.payments.helpers import (
    add_invoice,
    connect_mpesa,
    count,
    invoice,
    payments,
    wait_for,
)


@dataclass
class Live:
    hub: str
    emu: DarajaEmulator
    daraja: str


@pytest.fixture
def live(runtime: Runtime) -> Iterator[Live]:
    """The hub and the Daraja emulator, each on its own loopback port,
    calling each other over real HTTP."""
    port = free_port()
    runtime.settings.base_url = f"http://127.0.0.1:{port}"
    app = create_app(runtime.settings, runtime=runtime)
    emu = DarajaEmulator(callback_delay=0.05)
    with serving(emu.app) as daraja, serving(app, port=port) as hub:
        yield Live(hub, emu, daraja)


def _token(runtime: Runtime, tenant: Tenant, integration_id: uuid.UUID) -> str:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return str(row.callback_token)


def _post_many(
    url: str, body: bytes, times: int, workers: int = 32
) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return client.post(
                url, content=body, headers={"content-type": "application/json"}
            )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(times)))


def test_same_stk_callback_100_times_concurrently_is_one_payment(
    runtime: Runtime, live: Live
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    live.emu.stk = "pay_silent"  # we post the callback ourselves, 100 times
    live.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, tenant, 150_000)
    result = request_payment(
        runtime, tenant.principal, PushInput(integration_id=integration, invoice_id=inv)
    )
    assert result.ok
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        checkout = session.scalars(select(PaymentRequest.reference)).one()
    body = json.dumps(live.emu.stk_callback_body(live.emu.requests[checkout])).encode()
    url = f"{live.hub}/hooks/mpesa/{_token(runtime, tenant, integration)}"

    answers = _post_many(url, body, 100)

    assert {a.status_code for a in answers} == {200}
    assert {a.text for a in answers} == {'{"ResultCode": 0, "ResultDesc": "Accepted"}'}
    assert count(runtime, tenant, WebhookInbox) == 1
    [payment] = payments(runtime, tenant)
    assert payment.status == PaymentStatus.MATCHED
    assert invoice(runtime, tenant, inv).paid_minor == 150_000
    assert count(runtime, tenant, Event, Event.type == "payment.received") == 1
    assert count(runtime, tenant, Event, Event.type == "invoice.paid") == 1


def test_emulator_paying_twice_by_stk_and_c2b_is_counted_once(
    runtime: Runtime, live: Live
) -> None:
    """The emulator calls back twice and fires the C2B confirmation too, all
    over HTTP, as Daraja does: one payment (P1, P2)."""
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    assert register_c2b_urls(runtime, tenant.principal, integration).ok
    live.emu.stk = "pay_twice"
    inv = add_invoice(runtime, tenant, 99_000)

    assert request_payment(
        runtime, tenant.principal, PushInput(integration_id=integration, invoice_id=inv)
    ).ok

    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    wait_for(
        lambda: len([s for s in live.emu.sent if s.status]) >= 4
    )  # 2 STK, C2B, result
    wait_for(lambda: all(r.status == "paid" for r in _requests(runtime, tenant)))
    [payment] = payments(runtime, tenant)
    assert payment.amount_minor == 99_000
    assert invoice(runtime, tenant, inv).paid_minor == 99_000
    assert count(runtime, tenant, Event, Event.type == "payment.received") == 1


def _requests(runtime: Runtime, tenant: Tenant) -> list[PaymentRequest]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(PaymentRequest)))


def test_stk_and_c2b_posted_at_the_same_moment_count_once(
    runtime: Runtime, live: Live
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    live.emu.stk = "pay_silent"
    live.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, tenant, 42_000)
    assert request_payment(
        runtime, tenant.principal, PushInput(integration_id=integration, invoice_id=inv)
    ).ok
    stk = next(iter(live.emu.requests.values()))
    txn = live.emu.transactions[stk.receipt or ""]
    token = _token(runtime, tenant, integration)
    stk_body = json.dumps(live.emu.stk_callback_body(stk)).encode()
    c2b_body = json.dumps(live.emu.c2b_body(txn)).encode()

    def post(i: int) -> httpx.Response:
        url, body = (
            (f"{live.hub}/hooks/mpesa/{token}", stk_body)
            if i % 2
            else (f"{live.hub}/hooks/c2b/{token}/confirmation", c2b_body)
        )
        with httpx.Client(timeout=60) as client:
            return client.post(url, content=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(40)))

    assert {a.status_code for a in answers} == {200}
    wait_for(lambda: all(r.status == "paid" for r in _requests(runtime, tenant)))
    [payment] = payments(runtime, tenant)
    assert payment.provider_reference == stk.receipt
    assert invoice(runtime, tenant, inv).paid_minor == 42_000


def test_wrong_path_token_is_404_and_stores_nothing(
    runtime: Runtime, live: Live
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    real = _token(runtime, tenant, integration)
    wrong = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    body = json.dumps({"TransID": "SABC123456", "TransAmount": "10"}).encode()
    with httpx.Client(timeout=30) as client:
        for path in (
            f"/hooks/mpesa/{wrong}",
            f"/hooks/c2b/{wrong}/confirmation",
            f"/hooks/c2b/{wrong}/validation",
            "/hooks/mpesa/not-a-token",
        ):
            assert client.post(live.hub + path, content=body).status_code == 404
    assert count(runtime, tenant, WebhookInbox) == 0


def test_callbacks_from_outside_the_allowlist_are_refused(
    runtime: Runtime, live: Live
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(
        runtime, tenant, live.daraja, allowed_ips="196.201.214.0/24"
    )
    token = _token(runtime, tenant, integration)
    body = json.dumps(live.emu.c2b_body(_txn())).encode()
    with httpx.Client(timeout=30) as client:
        assert (
            client.post(
                f"{live.hub}/hooks/c2b/{token}/confirmation", content=body
            ).status_code
            == 401
        )
        assert (
            client.post(
                f"{live.hub}/hooks/c2b/{token}/validation", content=body
            ).status_code
            == 401
        )
    assert count(runtime, tenant, WebhookInbox) == 0


def _txn(shortcode: str = "174379", bill_ref: str = "NOSUCH") -> object:
    from copcca.sandbox.mpesa import Transaction

    return Transaction(
        "SABC000001", 500, "254712345678", bill_ref, shortcode, "Juma", "20260301120000"
    )


@pytest.mark.parametrize(
    ("reject_unknown", "shortcode", "bill_ref", "code"),
    [
        (False, "174379", "NOSUCH", "0"),
        (True, "174379", "NOSUCH", "C2B00012"),
        (True, "174379", "inv-0007", "0"),
        (False, "600000", "INV0007", "C2B00015"),
    ],
)
def test_c2b_validation_answers_daraja_at_once(
    runtime: Runtime,
    live: Live,
    reject_unknown: bool,
    shortcode: str,
    bill_ref: str,
    code: str,
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(
        runtime, tenant, live.daraja, reject_unknown_accounts=reject_unknown
    )
    add_invoice(runtime, tenant, 50_000, number="INV-0007")
    token = _token(runtime, tenant, integration)
    body = json.dumps(live.emu.c2b_body(_txn(shortcode, bill_ref))).encode()  # type: ignore[arg-type]
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{live.hub}/hooks/c2b/{token}/validation", content=body)
    assert answer.status_code == 200
    assert answer.json()["ResultCode"] == code
    assert answer.json()["ResultDesc"] == ("Accepted" if code == "0" else "Rejected")
    assert payments(runtime, tenant) == []  # validation never records money


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"hello": "world"}'])
def test_malformed_callbacks_are_refused_and_kept_for_a_look(
    runtime: Runtime, live: Live, body: bytes
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    token = _token(runtime, tenant, integration)
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{live.hub}/hooks/mpesa/{token}", content=body)
    assert answer.status_code == 400
    assert answer.json() == {
        "ResultCode": 1,
        "ResultDesc": "Rejected: not a valid callback",
    }
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        [row] = session.scalars(select(WebhookInbox)).all()
    assert row.status == "failed"
    assert payments(runtime, tenant) == []


def test_c2b_confirmations_in_one_group_commit_are_each_stored_once(
    runtime: Runtime, live: Live
) -> None:
    """The batching path: 60 concurrent confirmations, 20 receipts each sent
    three times, all answered Success after their commit; 20 inbox rows."""
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, live.daraja)
    token = _token(runtime, tenant, integration)
    from copcca.sandbox.mpesa import Transaction

    bodies = []
    for n in range(20):
        txn = Transaction(
            f"SGRP{n:06d}",
            100 + n,
            "254712345678",
            "X",
            "174379",
            "A",
            "20260301120000",
        )
        live.emu.transactions[txn.receipt] = txn
        bodies.append(json.dumps(live.emu.c2b_body(txn)).encode())

    def post(i: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return client.post(
                f"{live.hub}/hooks/c2b/{token}/confirmation", content=bodies[i % 20]
            )

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(post, range(60)))

    assert {a.status_code for a in answers} == {200}
    assert {a.text for a in answers} == {'{"ResultCode": 0, "ResultDesc": "Success"}'}
    assert (
        count(
            runtime,
            tenant,
            WebhookInbox,
            WebhookInbox.event_type == "mpesa.c2b_confirmation",
        )
        == 20
    )
    wait_for(lambda: len(payments(runtime, tenant)) == 20, timeout=60)
