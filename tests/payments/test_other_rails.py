"""Airtel Money, Tigo Pesa, Flutterwave and PayPal against their emulators,
over real HTTP both ways: push and callback, status check before credit
(P4), verification before value (P6), refunds, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from copcca.db.base import utcnow
from copcca.models.crm import InvoiceStatus, PaymentStatus
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.models.webhooks import Event
from copcca.payments.checks import sweep
from copcca.payments.requests import PushInput, request_payment
from copcca.runtime import Runtime
from copcca.sandbox.airtel import AirtelEmulator
from copcca.sandbox.flutterwave import FlutterwaveEmulator
from copcca.sandbox.paypal import PayPalEmulator
from copcca.sandbox.server import serving
from copcca.sandbox.tigo import PUSH_PATH, TOKEN_PATH, TigoEmulator
from tests.helpers import Tenant, make_company
from tests.payments.helpers import (
    add_invoice,
    connect,
    count,
    hook_url,
    invoice,
    payments,
    wait_for,
)


def _requests(runtime: Runtime, tenant: Tenant) -> list[PaymentRequest]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(PaymentRequest)))


def _emulated(emulator: Any) -> Iterator[tuple[Any, str]]:
    with serving(emulator.app) as url:
        yield emulator, url


# ------------------------------------------------------------------ Airtel
@pytest.fixture
def airtel(hub: str) -> Iterator[tuple[AirtelEmulator, str]]:
    yield from _emulated(AirtelEmulator(callback_delay=0.05))


def _airtel_shop(
    runtime: Runtime, airtel: tuple[AirtelEmulator, str]
) -> tuple[Tenant, Any]:
    emu, url = airtel
    tenant = make_company(runtime, "Kampala Traders", country="UG")
    integration = connect(
        runtime,
        tenant,
        "airtel_money",
        {
            "country": "UG",
            "client_id": "airtel-client",
            "client_secret": "airtel-secret",
            "api_base_url": url,
        },
    )
    emu.callback_url = hook_url(runtime, tenant, integration)
    return tenant, integration


def test_airtel_push_is_credited_after_the_enquiry_in_ugx(
    runtime: Runtime, airtel: tuple[AirtelEmulator, str]
) -> None:
    emu, _ = airtel
    tenant, integration = _airtel_shop(runtime, airtel)
    inv = add_invoice(runtime, tenant, 50_000, phone="0701234567")  # UGX 50,000

    result = request_payment(runtime, tenant.principal, PushInput(integration, inv))

    assert result.ok, result.message
    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    [payment] = payments(runtime, tenant)
    assert (payment.amount_minor, payment.currency) == (50_000, "UGX")
    collection = next(iter(emu.collections.values()))
    assert collection.msisdn == "701234567"  # no country code, as Airtel wants
    assert payment.provider_reference == collection.airtel_money_id
    assert emu.counts["enquiry"] >= 1


def test_airtel_silent_payment_is_settled_by_the_sweep(
    runtime: Runtime, airtel: tuple[AirtelEmulator, str]
) -> None:
    emu, _ = airtel
    emu.behaviour = "pay_silent"
    tenant, integration = _airtel_shop(runtime, airtel)
    inv = add_invoice(runtime, tenant, 20_000, phone="0701234567")
    assert request_payment(runtime, tenant.principal, PushInput(integration, inv)).ok
    sweep(runtime, now=utcnow() + timedelta(minutes=5), inline=True)
    assert invoice(runtime, tenant, inv).status == InvoiceStatus.PAID
    assert len(payments(runtime, tenant)) == 1


def test_airtel_callback_for_an_unknown_transaction_is_quarantined(
    runtime: Runtime, airtel: tuple[AirtelEmulator, str]
) -> None:
    tenant, integration = _airtel_shop(runtime, airtel)
    body = {
        "transaction": {
            "id": "nobody-asked",
            "message": "Paid",
            "status_code": "TS",
            "airtel_money_id": "MP1",
        }
    }
    answer = httpx.post(hook_url(runtime, tenant, integration), json=body, timeout=30)
    assert answer.status_code == 200
    assert payments(runtime, tenant) == []
    [row] = _requests(runtime, tenant)
    assert (row.status, row.review_reason) == (
        RequestStatus.NEEDS_REVIEW,
        "unknown_request",
    )


# ------------------------------------------------------------------ Tigo
@pytest.fixture
def tigo(hub: str) -> Iterator[tuple[TigoEmulator, str]]:
    yield from _emulated(TigoEmulator(callback_delay=0.05))


def _tigo_shop(
    runtime: Runtime, tigo: tuple[TigoEmulator, str], **extra: Any
) -> tuple[Tenant, Any]:
    emu, url = tigo
    tenant = make_company(runtime, "Duka Dar", country="TZ")
    integration = connect(
        runtime,
        tenant,
        "tigo_pesa",
        {
            "api_base_url": url,
            "token_path": TOKEN_PATH,
            "push_path": PUSH_PATH,
            "username": "shop",
            "password": "shop-password",
            "biller_msisdn": "255650000000",
            "biller_code": "DUKA",
            **extra,
        },
    )
    emu.callback_url = hook_url(runtime, tenant, integration)
    return tenant, integration


def test_tigo_push_callback_with_our_reference_and_amount_is_credited(
    runtime: Runtime, tigo: tuple[TigoEmulator, str]
) -> None:
    emu, _ = tigo
    tenant, integration = _tigo_shop(runtime, tigo)
    inv = add_invoice(runtime, tenant, 1_500_000, phone="0654123456")

    assert request_payment(runtime, tenant.principal, PushInput(integration, inv)).ok

    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    bill = next(iter(emu.bills.values()))
    assert bill.reference_id.startswith("DUKA")
    assert len(bill.reference_id) == 24
    wait_for(lambda: emu.sent and emu.sent[0].status == 200)
    [payment] = payments(runtime, tenant)
    assert (payment.amount_minor, payment.currency, payment.provider_reference) == (
        1_500_000,
        "TZS",
        bill.mfs_id,
    )


def test_tigo_reply_and_forged_amount(
    runtime: Runtime, tigo: tuple[TigoEmulator, str]
) -> None:
    emu, _ = tigo
    emu.behaviour = "pending"
    tenant, integration = _tigo_shop(runtime, tigo)
    inv = add_invoice(runtime, tenant, 1_500_000, phone="0654123456")
    assert request_payment(runtime, tenant.principal, PushInput(integration, inv)).ok
    reference = next(iter(emu.bills))
    forged = {
        "Status": True,
        "Description": "ok",
        "MFSTransactionID": "MFSX",
        "ReferenceID": reference,
        "Amount": "150",
    }

    answer = httpx.post(hook_url(runtime, tenant, integration), json=forged, timeout=30)

    assert answer.json() == {
        "ResponseCode": "BILLER-30-0000-S",
        "ResponseDescription": "Callback Successful",
        "ResponseStatus": True,
        "ReferenceID": reference,
    }
    assert payments(runtime, tenant) == []
    assert any(r.review_reason == "amount_mismatch" for r in _requests(runtime, tenant))


def test_tigo_owner_can_hold_every_payment_for_review(
    runtime: Runtime, tigo: tuple[TigoEmulator, str]
) -> None:
    tenant, integration = _tigo_shop(runtime, tigo, hold_for_review=True)
    inv = add_invoice(runtime, tenant, 1_500_000, phone="0654123456")
    assert request_payment(runtime, tenant.principal, PushInput(integration, inv)).ok
    wait_for(
        lambda: any(r.status == "needs_review" for r in _requests(runtime, tenant))
    )
    assert payments(runtime, tenant) == []
    assert invoice(runtime, tenant, inv).paid_minor == 0


# ------------------------------------------------------------------ Flutterwave
def _flw_shop(
    runtime: Runtime, flw: tuple[FlutterwaveEmulator, str]
) -> tuple[Tenant, Any]:
    emu, url = flw
    tenant = make_company(runtime, "Lagos Wares", country="NG")
    integration = connect(
        runtime,
        tenant,
        "flutterwave",
        {
            "secret_key": "FLWSECK_TEST-sandbox",
            "secret_hash": "sandbox-hash",
            "api_base_url": url,
        },
    )
    emu.webhook_url = hook_url(runtime, tenant, integration)
    return tenant, integration


def _call(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{url}{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_flutterwave_webhook_is_verified_then_matched_by_tx_ref(
    runtime: Runtime, flutterwave: tuple[FlutterwaveEmulator, str]
) -> None:
    emu, url = flutterwave
    tenant, _ = _flw_shop(runtime, flutterwave)
    inv = add_invoice(
        runtime, tenant, 5_000_000, phone="08012345678", number="INV-0100"
    )

    _call(
        url,
        "/_sandbox/charge",
        {"amount": "50000", "currency": "NGN", "tx_ref": "INV0100"},
    )

    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    [payment] = payments(runtime, tenant)
    assert (payment.amount_minor, payment.currency, payment.method) == (
        5_000_000,
        "NGN",
        "mobile_money",
    )
    assert emu.counts["verify"] == 1


def test_flutterwave_lower_verified_amount_is_not_credited(
    runtime: Runtime, flutterwave: tuple[FlutterwaveEmulator, str]
) -> None:
    emu, url = flutterwave
    emu.verify_amount_override = 500.0
    tenant, _ = _flw_shop(runtime, flutterwave)
    inv = add_invoice(runtime, tenant, 5_000_000, number="INV-0101")
    _call(
        url,
        "/_sandbox/charge",
        {"amount": "50000", "currency": "NGN", "tx_ref": "INV0101"},
    )
    wait_for(
        lambda: any(r.status == "needs_review" for r in _requests(runtime, tenant))
    )
    [row] = _requests(runtime, tenant)
    assert row.review_reason == "amount_mismatch"
    assert row.claimed["confirmed"]["amount_minor"] == 50_000
    assert payments(runtime, tenant) == []
    assert invoice(runtime, tenant, inv).paid_minor == 0


def test_flutterwave_payment_in_another_currency_is_not_put_on_ngn_invoices(
    runtime: Runtime, flutterwave: tuple[FlutterwaveEmulator, str]
) -> None:
    tenant, _ = _flw_shop(runtime, flutterwave)
    _, url = flutterwave
    inv = add_invoice(runtime, tenant, 5_000_000, number="INV-0102")
    _call(
        url,
        "/_sandbox/charge",
        {"amount": "50", "currency": "USD", "tx_ref": "INV0102"},
    )
    wait_for(lambda: payments(runtime, tenant))
    [payment] = payments(runtime, tenant)
    assert (payment.currency, payment.status) == ("USD", PaymentStatus.NEEDS_REVIEW)
    assert invoice(runtime, tenant, inv).paid_minor == 0


# ------------------------------------------------------------------ PayPal
def _paypal_shop(
    runtime: Runtime, pp: tuple[PayPalEmulator, str]
) -> tuple[Tenant, Any]:
    emu, url = pp
    tenant = make_company(runtime, "Nairobi Crafts")
    integration = connect(
        runtime,
        tenant,
        "paypal",
        {
            "client_id": "paypal-client",
            "client_secret": "paypal-secret",
            "webhook_id": "WH-SANDBOX",
            "api_base_url": url,
        },
    )
    emu.webhook_url = hook_url(runtime, tenant, integration)
    return tenant, integration


def _run(emu: Any, method: str, **kwargs: Any) -> dict[str, Any]:
    """Call an emulator method that schedules callbacks, on its own loop."""
    import asyncio

    holder: dict[str, Any] = {}

    async def go() -> None:
        holder["value"] = getattr(emu, method)(**kwargs)
        await emu.drain()

    asyncio.run(go())
    return holder["value"]


def test_paypal_capture_is_verified_and_refund_reopens_the_invoice(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, _ = paypal
    tenant, _ = _paypal_shop(runtime, paypal)
    inv = add_invoice(runtime, tenant, 1_000_000, number="INV-0200")
    event = _run(emu, "capture", value="10000.00", currency="KES", invoice_id="INV0200")

    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    capture_id = event["resource"]["id"]
    [payment] = payments(runtime, tenant)
    assert (payment.provider_reference, payment.method) == (capture_id, "card")

    refund = _run(emu, "refund", capture_id=capture_id, value="4000.00")
    wait_for(lambda: invoice(runtime, tenant, inv).paid_minor == 600_000)
    assert invoice(runtime, tenant, inv).status == InvoiceStatus.PARTIALLY_PAID
    # The same refund delivered again takes nothing more off.
    answer = httpx.post(
        emu.webhook_url, json=refund, headers=emu.sent[-1].headers, timeout=30
    )
    assert answer.status_code == 200
    assert invoice(runtime, tenant, inv).paid_minor == 600_000
    assert count(runtime, tenant, Event, Event.type == "payment.refunded") == 1


def test_paypal_event_without_signature_headers_is_refused(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, _ = paypal
    tenant, integration = _paypal_shop(runtime, paypal)
    body = {
        "id": "WH-1",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": {"id": "C1"},
    }
    answer = httpx.post(hook_url(runtime, tenant, integration), json=body, timeout=30)
    assert answer.status_code == 401
    assert "verify_signature" not in emu.counts
