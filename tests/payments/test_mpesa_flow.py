"""M-Pesa end to end against the Daraja emulator: request payment for an
invoice, the callback checked with STK Query, the C2B confirmation checked
with Transaction Status, and the same payment by both routes counted once
(promises P2, P4)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from copcca.models.crm import InvoiceStatus, PaymentStatus
from copcca.models.payments import PaymentRequest, RequestStatus
from copcca.models.webhooks import Event
from copcca.payments.requests import PushInput, request_payment
from copcca.runtime import Runtime
from tests.payments.conftest import Daraja, Shop
from tests.payments.helpers import (
    add_invoice,
    count,
    deliver,
    invoice,
    payments,
    sent_to,
    wait_for,
)


def _push(runtime: Runtime, shop: Shop, invoice_id: object, **kw: object) -> object:
    result = request_payment(
        runtime,
        shop.tenant.principal,
        PushInput(integration_id=shop.integration_id, invoice_id=invoice_id, **kw),  # type: ignore[arg-type]
    )
    assert result.ok, result.message
    return result


def _request(runtime: Runtime, shop: Shop) -> PaymentRequest:
    with runtime.db.transaction(shop.tenant.company_id, write=False) as session:
        rows = session.scalars(
            select(PaymentRequest).where(PaymentRequest.origin == "push")
        ).all()
        assert len(rows) == 1
        return rows[0]


def test_stk_push_paid_by_callback_pays_the_invoice_once(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    daraja.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, shop.tenant, 150_000)

    _push(runtime, shop, inv)
    request = _request(runtime, shop)
    assert request.status == RequestStatus.PENDING
    assert request.reference.startswith("ws_CO_")
    [callback] = sent_to(daraja.emu, 1)
    deliver(runtime, shop.tenant, shop.integration_id, callback)
    deliver(runtime, shop.tenant, shop.integration_id, callback)  # Daraja retries

    [payment] = payments(runtime, shop.tenant)
    assert payment.amount_minor == 150_000
    assert payment.status == PaymentStatus.MATCHED
    assert payment.payer_phone == "+254712345678"
    assert invoice(runtime, shop.tenant, inv).status == InvoiceStatus.PAID
    assert invoice(runtime, shop.tenant, inv).paid_minor == 150_000
    assert count(runtime, shop.tenant, Event, Event.type == "payment.received") == 1
    assert count(runtime, shop.tenant, Event, Event.type == "invoice.paid") == 1
    assert daraja.emu.counts["stk_query"] == 2  # every callback was checked (P4)


def test_cancelled_request_credits_nothing(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    daraja.emu.stk = "cancel"
    inv = add_invoice(runtime, shop.tenant, 50_000)
    _push(runtime, shop, inv)
    [callback] = sent_to(daraja.emu, 1)
    deliver(runtime, shop.tenant, shop.integration_id, callback)

    assert payments(runtime, shop.tenant) == []
    assert _request(runtime, shop).status == RequestStatus.FAILED
    assert invoice(runtime, shop.tenant, inv).status == InvoiceStatus.OPEN


def _register(runtime: Runtime, shop: Shop) -> None:
    from copcca.payments.mpesa import register_c2b_urls

    result = register_c2b_urls(runtime, shop.tenant.principal, shop.integration_id)
    assert result.ok, result.message


def test_c2b_confirmation_is_credited_after_transaction_status(
    runtime: Runtime, daraja: Daraja, shop: Shop
) -> None:
    inv = add_invoice(runtime, shop.tenant, 250_000, number="INV-0042")
    _register(runtime, shop)
    daraja.emu.app  # noqa: B018
    from copcca.payments.mpesa import simulate_c2b

    simulate_c2b(
        runtime,
        shop.tenant.principal,
        shop.integration_id,
        250_000,
        "0712345678",
        "INV0042",
    )
    bodies = sent_to(daraja.emu, 2)  # validation, confirmation
    confirmation = bodies[1]
    deliver(runtime, shop.tenant, shop.integration_id, confirmation, kind="confirm")
    assert payments(runtime, shop.tenant) == []  # not before Safaricom confirms
    [result] = sent_to(daraja.emu, 3)[2:]
    deliver(runtime, shop.tenant, shop.integration_id, result)

    [payment] = payments(runtime, shop.tenant)
    assert payment.provider_reference == confirmation["TransID"]
    assert payment.account_reference == "INV0042"
    assert payment.status == PaymentStatus.MATCHED
    assert invoice(runtime, shop.tenant, inv).status == InvoiceStatus.PAID


ORDERS = list(itertools.permutations(["stk", "c2b", "result"]))


@pytest.mark.parametrize(
    "order", [o for o in ORDERS if o.index("c2b") < o.index("result")]
)
def test_stk_and_c2b_for_the_same_money_count_once(
    runtime: Runtime, daraja: Daraja, shop: Shop, order: tuple[str, ...]
) -> None:
    """P2: the STK callback and the C2B confirmation (and its Transaction
    Status result) in any order end in one payment, one invoice payment."""
    inv = add_invoice(runtime, shop.tenant, 120_000)
    _register(runtime, shop)
    _push(runtime, shop, inv)
    stk, c2b = sent_to(daraja.emu, 2)
    assert (
        stk["Body"]["stkCallback"]["CallbackMetadata"]["Item"][1]["Value"]
        == c2b["TransID"]
    )
    for step in order:
        if step == "stk":
            deliver(runtime, shop.tenant, shop.integration_id, stk)
        elif step == "c2b":
            deliver(runtime, shop.tenant, shop.integration_id, c2b, kind="confirm")
        else:
            result = wait_for(
                lambda: [s.body for s in daraja.emu.sent if "Result" in s.body]
            )[-1]
            deliver(runtime, shop.tenant, shop.integration_id, result)

    [payment] = payments(runtime, shop.tenant)
    assert payment.provider_reference == c2b["TransID"]
    assert payment.amount_minor == 120_000
    assert invoice(runtime, shop.tenant, inv).paid_minor == 120_000
    assert count(runtime, shop.tenant, Event, Event.type == "payment.received") == 1
    with runtime.db.transaction(shop.tenant.company_id, write=False) as session:
        linked = session.scalars(select(PaymentRequest.payment_id)).all()
        assert set(linked) == {payment.id}
