"""Promises P3 (quarantine), P5 (status sweep settles a silent payment; a
late callback changes nothing), P7 (payment and event commit together) and
P8 (exact amounts) against the Daraja emulator."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Float, select

from copcca.crm.money import from_minor, minor_digits, to_minor_exact
from copcca.db.base import Base, utcnow
from copcca.errors import InvalidInput
from copcca.models.crm import InvoiceStatus, PaymentStatus
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.models.webhooks import Event
from copcca.payments.checks import sweep
from copcca.payments.requests import PushInput, request_payment
from copcca.runtime import Runtime
from tests.payments.conftest import Daraja, Shop
from tests.payments.helpers import (
    add_invoice,
    connect_mpesa,
    count,
    deliver,
    invoice,
    payments,
    sent_to,
    wait_for,
)


def _requests(runtime: Runtime, shop: Shop) -> list[PaymentRequest]:
    with runtime.db.transaction(shop.tenant.company_id, write=False) as session:
        return list(
            session.scalars(select(PaymentRequest).order_by(PaymentRequest.created_at))
        )


def _push(runtime: Runtime, shop: Shop, invoice_id: object) -> PaymentRequest:
    result = request_payment(
        runtime,
        shop.tenant.principal,
        PushInput(integration_id=shop.integration_id, invoice_id=invoice_id),  # type: ignore[arg-type]
    )
    assert result.ok, result.message
    return next(r for r in _requests(runtime, shop) if r.id == result.request_id)


def _stk(
    checkout: str, *, amount: float, phone: int, receipt: str = "SFORGED001"
) -> dict:
    return {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": "1-1-1",
                "CheckoutRequestID": checkout,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "CallbackMetadata": {
                    "Item": [
                        {"Name": "Amount", "Value": amount},
                        {"Name": "MpesaReceiptNumber", "Value": receipt},
                        {"Name": "TransactionDate", "Value": 20260301120000},
                        {"Name": "PhoneNumber", "Value": phone},
                    ]
                },
            }
        }
    }


# ------------------------------------------------------------------- P3
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown_checkout", "unknown_request"),
        ("forged_amount", "amount_mismatch"),
        ("other_phone", "phone_mismatch"),
    ],
)
def test_stk_callback_not_matching_the_request_is_quarantined(
    runtime: Runtime, daraja: Daraja, shop: Shop, case: str, reason: str
) -> None:
    daraja.emu.stk = "pending"  # the customer has not paid
    inv = add_invoice(runtime, shop.tenant, 100_000)
    request = _push(runtime, shop, inv)
    checkout = "ws_CO_NOBODY_ASKED" if case == "unknown_checkout" else request.reference
    amount = 1.0 if case == "forged_amount" else 1000.0
    phone = 254799999999 if case == "other_phone" else 254712345678

    deliver(
        runtime,
        shop.tenant,
        shop.integration_id,
        _stk(checkout, amount=amount, phone=phone),
    )

    assert payments(runtime, shop.tenant) == []
    assert invoice(runtime, shop.tenant, inv).paid_minor == 0
    held = [
        r for r in _requests(runtime, shop) if r.status == RequestStatus.NEEDS_REVIEW
    ]
    assert [r.review_reason for r in held] == [reason]
    mine = next(r for r in _requests(runtime, shop) if r.id == request.id)
    assert mine.status in (RequestStatus.PENDING, RequestStatus.CONFIRMING)


def _c2b(
    receipt: str, amount: str, shortcode: str = "174379", account: str = "INV0001"
) -> dict:
    return {
        "TransactionType": "Pay Bill",
        "TransID": receipt,
        "TransTime": "20260301120000",
        "TransAmount": amount,
        "BusinessShortCode": shortcode,
        "BillRefNumber": account,
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": "25471****678",
        "FirstName": "Wanjiku",
        "MiddleName": "",
        "LastName": "",
    }


def test_c2b_for_another_shortcode_is_quarantined_without_asking(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    deliver(
        runtime,
        shop.tenant,
        shop.integration_id,
        _c2b("SABC123456", "500.00", "999999"),
        kind="confirm",
    )
    assert payments(runtime, shop.tenant) == []
    [row] = _requests(runtime, shop)
    assert (row.status, row.review_reason) == ("needs_review", "shortcode_mismatch")
    assert "transaction_status" not in daraja.emu.counts


def test_c2b_with_forged_amount_is_not_credited(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    """A real receipt with a forged amount: Transaction Status tells the
    truth and the claim is quarantined with the confirmed facts kept."""
    from copcca.payments.mpesa import register_c2b_urls, simulate_c2b

    add_invoice(runtime, shop.tenant, 1_000_000, number="INV-0001")
    register_c2b_urls(runtime, shop.tenant.principal, shop.integration_id)
    simulate_c2b(
        runtime,
        shop.tenant.principal,
        shop.integration_id,
        10_000,
        "0712345678",
        "INV0001",
    )
    real = sent_to(daraja.emu, 2)[1]
    forged = {**real, "TransAmount": "10000.00"}
    deliver(runtime, shop.tenant, shop.integration_id, forged, kind="confirm")
    result = wait_for(lambda: [s.body for s in daraja.emu.sent if "Result" in s.body])[
        0
    ]
    deliver(runtime, shop.tenant, shop.integration_id, result)

    assert payments(runtime, shop.tenant) == []
    [row] = _requests(runtime, shop)
    assert row.review_reason == "amount_mismatch"
    assert row.claimed["confirmed"]["amount_minor"] == 10_000

    # The genuine confirmation is still credited, for the confirmed amount.
    deliver(runtime, shop.tenant, shop.integration_id, real, kind="confirm")
    result = wait_for(
        lambda: [s.body for s in daraja.emu.sent if "Result" in s.body][1:]
    )[0]
    deliver(runtime, shop.tenant, shop.integration_id, result)
    [payment] = payments(runtime, shop.tenant)
    assert payment.amount_minor == 10_000


def test_c2b_without_api_initiator_waits_for_a_person(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    from tests.helpers import make_company

    other = make_company(runtime, "No initiator")
    integration = connect_mpesa(
        runtime, other, daraja.url, initiator_name=None, security_credential=None
    )
    deliver(runtime, other, integration, _c2b("SABC123457", "500.00"), kind="confirm")
    assert payments(runtime, other) == []
    with runtime.db.transaction(other.company_id, write=False) as session:
        [row] = session.scalars(select(PaymentRequest)).all()
    assert row.review_reason == "unverified"


# ------------------------------------------------------------------- P5
def test_silent_payment_is_settled_by_the_sweep_and_late_callback_changes_nothing(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    daraja.emu.stk = "pay_silent"
    daraja.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, shop.tenant, 75_000)
    request = _push(runtime, shop, inv)
    assert daraja.emu.sent == []  # no callback will ever come

    checked = sweep(runtime, now=utcnow() + timedelta(minutes=5), inline=True)

    assert checked == 1
    [payment] = payments(runtime, shop.tenant)
    assert payment.amount_minor == 75_000
    assert payment.provider_reference == request.reference  # no receipt known yet
    assert invoice(runtime, shop.tenant, inv).status == InvoiceStatus.PAID
    events_before = count(runtime, shop.tenant, Event)

    stk = daraja.emu.requests[request.reference]
    deliver(
        runtime, shop.tenant, shop.integration_id, daraja.emu.stk_callback_body(stk)
    )

    assert len(payments(runtime, shop.tenant)) == 1
    assert invoice(runtime, shop.tenant, inv).paid_minor == 75_000
    assert count(runtime, shop.tenant, Event) == events_before
    assert sweep(runtime, now=utcnow() + timedelta(hours=1), inline=True) == 0


def test_late_c2b_confirmation_attaches_the_receipt_to_the_swept_payment(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    daraja.emu.stk = "pay_silent"
    daraja.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, shop.tenant, 75_000)
    request = _push(runtime, shop, inv)
    sweep(runtime, now=utcnow() + timedelta(minutes=5), inline=True)
    stk = daraja.emu.requests[request.reference]
    txn = daraja.emu.transactions[stk.receipt or ""]

    deliver(
        runtime,
        shop.tenant,
        shop.integration_id,
        daraja.emu.c2b_body(txn),
        kind="confirm",
    )
    result = wait_for(lambda: [s.body for s in daraja.emu.sent if "Result" in s.body])[
        0
    ]
    deliver(runtime, shop.tenant, shop.integration_id, result)

    [payment] = payments(runtime, shop.tenant)
    assert payment.provider_reference == stk.receipt
    assert invoice(runtime, shop.tenant, inv).paid_minor == 75_000
    assert count(runtime, shop.tenant, Event, Event.type == "payment.received") == 1


def test_status_query_timing_out_credits_nothing_and_asks_again(
    runtime: Runtime, daraja: Daraja, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from copcca.payments import context

    daraja.emu.stk = "pending"
    inv = add_invoice(runtime, shop.tenant, 10_000)
    request = _push(runtime, shop, inv)
    monkeypatch.setattr(context, "PROVIDER_TIMEOUT", httpx.Timeout(0.2))
    daraja.emu.answer_delay = 1.0
    sweep(runtime, now=utcnow() + timedelta(minutes=5), inline=True)

    assert payments(runtime, shop.tenant) == []
    row = next(r for r in _requests(runtime, shop) if r.id == request.id)
    assert row.status == RequestStatus.PENDING
    assert row.checks == 1
    assert row.next_check_at is not None
    assert row.next_check_at > utcnow()
    from copcca.models.integrations import SyncLog

    with runtime.db.transaction(shop.tenant.company_id, write=False) as session:
        log = session.scalars(
            select(SyncLog).where(SyncLog.kind == "status_check")
        ).one()
    assert log.status == "failed"
    assert log.error_kind == "transient"
    assert log.message.startswith(
        "Could not check KSh 100 from 0712 345678 with M-Pesa"
    )
    assert log.message.endswith("Nothing was credited; we will ask again.")


# ------------------------------------------------------------------- P7
def test_payment_and_its_event_commit_together(
    runtime: Runtime, daraja: Daraja, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copcca.payments import settle

    daraja.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, shop.tenant, 20_000)
    _push(runtime, shop, inv)
    [callback] = sent_to(daraja.emu, 1)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash after the payment row was written")

    monkeypatch.setattr(settle, "reconcile", boom)
    with pytest.raises(RuntimeError):
        deliver(runtime, shop.tenant, shop.integration_id, callback)
    assert payments(runtime, shop.tenant) == []
    assert count(runtime, shop.tenant, Event, Event.type == "payment.received") == 0

    monkeypatch.undo()
    deliver(runtime, shop.tenant, shop.integration_id, callback)
    assert len(payments(runtime, shop.tenant)) == 1
    assert count(runtime, shop.tenant, Event, Event.type == "payment.received") == 1


# ------------------------------------------------------------------- P8
CURRENCIES = ["KES", "UGX", "TZS", "NGN", "RWF", "USD", "JPY", "BHD"]


@given(currency=st.sampled_from(CURRENCIES), minor=st.integers(0, 10**15))
def test_minor_units_round_trip_exactly(currency: str, minor: int) -> None:
    assert to_minor_exact(from_minor(minor, currency), currency) == minor


@given(
    currency=st.sampled_from(CURRENCIES),
    value=st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
)
def test_finer_amounts_than_the_currency_are_refused_not_rounded(
    currency: str, value: Decimal
) -> None:
    digits = minor_digits(currency)
    if value == value.quantize(Decimal(1).scaleb(-digits)):
        assert Decimal(to_minor_exact(value, currency)).scaleb(-digits) == value
    else:
        with pytest.raises(InvalidInput):
            to_minor_exact(value, currency)


def test_ugx_has_no_minor_unit() -> None:
    assert to_minor_exact("5000", "UGX") == 5000
    with pytest.raises(InvalidInput):
        to_minor_exact("5000.50", "UGX")


def test_no_money_column_is_a_float() -> None:
    floats = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Float)
    ]
    assert floats == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(shillings=st.integers(1, 10**9), cents=st.integers(0, 99))
def test_callback_amounts_reach_the_database_exactly(
    runtime: Runtime, shillings: int, cents: int
) -> None:
    from copcca.crm.payments import record_payment
    from copcca.crm.records import PaymentRecord
    from copcca.models.tenancy import Company
    from tests.helpers import make_company

    tenant = make_company(runtime)
    body = json.dumps({"TransAmount": f"{shillings}.{cents:02d}"}).encode()
    from copcca.connectors.mpesa import mapping

    minor = mapping.amount_minor(mapping.load(body)["TransAmount"])
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        record_payment(
            session,
            company,
            PaymentRecord("mpesa", f"R{shillings}x{cents}", minor, "KES", utcnow()),
        )
    [payment] = payments(runtime, tenant)
    assert payment.amount_minor == shillings * 100 + cents
    assert payment.status == PaymentStatus.RECEIVED
