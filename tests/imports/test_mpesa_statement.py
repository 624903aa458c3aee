"""An M-Pesa statement export dropped into the Import Center is recognised and
imported into payments by the same exactly-once rules as the M-Pesa page's
statement import and the callbacks: twice counts once, and a payment that
arrived by callback first is not counted again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from copcca.models.crm import InvoiceStatus
from copcca.models.payments import PaymentRequest
from copcca.payments.requests import PushInput, request_payment
from copcca.runtime import Runtime
from tests.helpers import make_company
from tests.imports.helpers import check, import_file, job, run, upload
from tests.payments.conftest import Daraja, Shop, daraja, shop  # noqa: F401
from tests.payments.helpers import add_invoice, deliver, invoice, payments, sent_to

NOW = datetime.now(ZoneInfo("Africa/Nairobi")) + timedelta(minutes=1)
WHEN = NOW.strftime("%d-%m-%Y %H:%M:%S")
TITLE = (
    "MPESA ORGANISATION STATEMENT\n"
    "Organisation Name:,DUKA LA AMINA\n"
    "Time Period:,01-03-2025 - 31-03-2025\n"
    "\n"
)
HEADER = (
    "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,"
    "Balance,Other Party Info,A/C No.\n"
)


def _statement(*rows: str) -> bytes:
    return (TITLE + HEADER + "".join(rows)).encode()


STATEMENT = _statement(
    f'SC1AB2CD3E,{WHEN},Pay Bill,Completed,"1,500.00",,"9,000.00",254712345678 - WANJIKU KAMAU,INV0042\n',
    f"SC1AB2CD3F,{WHEN},Pay Bill,Completed,300.00,,9300.00,254700000001 - JUMA,NOPE\n",
    f"SC1AB2CD3G,{WHEN},Business Payment,Completed,,2000.00,7300.00,SUPPLIER LTD,\n",
    f"SC1AB2CD3H,{WHEN},Pay Bill,Failed,100.00,,7300.00,254700000002 - ALI,\n",
)


def test_a_statement_is_recognised_whatever_target_was_picked(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    job_id = upload(runtime, tenant, STATEMENT, "customers", "statement.csv")
    uploaded = job(runtime, tenant, job_id)
    assert (uploaded.target, uploaded.total_rows) == ("payments", 2)
    assert uploaded.details["statement"] == "mpesa"
    [notice] = [n for n in uploaded.details["layout"]["notices"]]
    assert notice == {
        "code": "mpesa_statement",
        "payments": 2,
        "not_money_in": 2,
        "unreadable": 0,
    }
    checked = check(runtime, tenant, job_id)
    assert checked.details["plan"]["created"] == 2
    assert payments(runtime, tenant) == []  # the check wrote nothing


def test_the_same_statement_twice_counts_each_payment_once(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    inv = add_invoice(runtime, tenant, 150_000, number="INV-0042")

    first = import_file(runtime, tenant, STATEMENT, "payments")
    second = import_file(runtime, tenant, STATEMENT, "payments")

    assert (first.created_count, first.unchanged_count) == (2, 0)
    assert (second.created_count, second.unchanged_count) == (0, 2)
    assert second.details["problem_counts"]["already_counted"] == 2
    assert sorted(p.provider_reference for p in payments(runtime, tenant)) == [
        "SC1AB2CD3E",
        "SC1AB2CD3F",
    ]
    assert {p.provider for p in payments(runtime, tenant)} == {"mpesa"}
    paid = invoice(runtime, tenant, inv)
    assert (paid.status, paid.paid_minor) == (InvoiceStatus.PAID, 150_000)


def test_a_bad_statement_row_is_a_problem_and_the_rest_imports(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    data = _statement(
        f"SC1AB2CD3E,{WHEN},Pay Bill,Completed,500.00,,,254712345678 - A,\n",
        "SC1AB2CD3F,not a date,Pay Bill,Completed,300.00,,,254712345678 - B,\n",
    )
    done = import_file(runtime, tenant, data, "payments")
    assert (done.created_count, done.skipped_count) == (1, 1)
    assert done.details["problem_counts"] == {"statement_row": 1}


def test_undo_of_a_statement_import_removes_the_payments_and_their_matches(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    inv = add_invoice(runtime, tenant, 150_000, number="INV-0042")
    done = import_file(runtime, tenant, STATEMENT, "payments")
    from copcca.imports import service

    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert payments(runtime, tenant) == []
    assert invoice(runtime, tenant, inv).status == InvoiceStatus.OPEN
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalars(select(PaymentRequest)).all() == []
    again = import_file(runtime, tenant, STATEMENT, "payments")
    assert again.created_count == 2


def _receipt(callback: dict[str, object]) -> str:
    items = callback["Body"]["stkCallback"]["CallbackMetadata"]["Item"]  # type: ignore[index]
    return next(i["Value"] for i in items if i["Name"] == "MpesaReceiptNumber")  # type: ignore[no-any-return]


def test_a_payment_paid_by_callback_is_not_counted_again_by_the_statement(
    runtime: Runtime,
    daraja: Daraja,  # noqa: F811
    shop: Shop,  # noqa: F811
) -> None:
    daraja.emu.confirm_stk_by_c2b = False
    inv = add_invoice(runtime, shop.tenant, 150_000, number="INV-0042")
    result = request_payment(
        runtime,
        shop.tenant.principal,
        PushInput(integration_id=shop.integration_id, invoice_id=inv),  # type: ignore[arg-type]
    )
    assert result.ok, result.message
    [callback] = sent_to(daraja.emu, 1)
    deliver(runtime, shop.tenant, shop.integration_id, callback)
    [paid] = payments(runtime, shop.tenant)
    receipt = _receipt(callback)

    statement = _statement(
        f'{receipt},{WHEN},Pay Bill,Completed,"1,500.00",,,254712345678 - WANJIKU,INV0042\n'
    )
    job_id = upload(runtime, shop.tenant, statement, "payments")
    done = run(runtime, shop.tenant, job_id)

    assert (done.created_count, done.unchanged_count) == (0, 1)
    [still] = payments(runtime, shop.tenant)
    assert still.id == paid.id
    assert still.provider_reference == receipt
    assert invoice(runtime, shop.tenant, inv).paid_minor == 150_000


def test_an_mpesa_row_in_an_ordinary_payments_file_is_the_same_payment(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, STATEMENT, "payments")
    sheet = (
        "Date,Amount,Method,Transaction ID,Phone\n"
        "07/03/2025,1500,M-Pesa,sc1ab2cd3e,0712345678\n"
        "07/03/2025,250,M-Pesa,SC9ZZ00001,0712345678\n"
    )
    done = import_file(runtime, tenant, sheet.encode(), "payments")
    assert (done.created_count, done.unchanged_count) == (1, 1)
    assert len(payments(runtime, tenant)) == 3


def test_a_paste_with_a_bare_carriage_return_is_not_a_statement(
    tmp_path: Path,
) -> None:
    """The statement reader trips over a lone CR inside a field; that file
    is simply not a statement (it was a 500 on the paste API)."""
    from copcca.imports import statements

    pasted = tmp_path / "pasted.csv"
    pasted.write_bytes(b"0\r0")
    assert statements.recognise(pasted, "csv") is None
