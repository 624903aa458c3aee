"""Statement import records payments by the same exactly-once rules: the
same file twice adds nothing, a payment already known by callback is not
added again, and an unverifiable C2B notice is confirmed by the statement."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from copcca.errors import InvalidInput
from copcca.models.crm import InvoiceStatus
from copcca.models.payments import PaymentRequest
from copcca.models.tenancy import Company
from copcca.payments.statement import import_statement
from copcca.runtime import Runtime
from tests.helpers import Tenant, make_company
from tests.payments.conftest import Daraja
from tests.payments.helpers import (
    add_invoice,
    connect_mpesa,
    deliver,
    invoice,
    payments,
)

NOW = datetime.now(ZoneInfo("Africa/Nairobi")) + timedelta(minutes=1)
WHEN = NOW.strftime("%d-%m-%Y %H:%M:%S")
HEADER = "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Other Party Info,A/C No.\n"


def _file(*rows: str) -> bytes:
    return (HEADER + "".join(rows)).encode()


def _import(
    runtime: Runtime, tenant: Tenant, integration: object, data: bytes
) -> object:
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        return import_statement(session, tenant.principal, company, integration, data)  # type: ignore[arg-type]


def test_statement_twice_adds_each_payment_once(
    runtime: Runtime, daraja: Daraja
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, daraja.url)
    inv = add_invoice(runtime, tenant, 150_000, number="INV-0042")
    data = _file(
        f'SC1AB2CD3E,{WHEN},Pay Bill,Completed,"1,500.00",,254712345678 - WANJIKU,INV0042\n',
        f"SC1AB2CD3F,{WHEN},Pay Bill,Completed,300.00,,254700000001 - JUMA,NOPE\n",
    )

    first = _import(runtime, tenant, integration, data)
    second = _import(runtime, tenant, integration, data)

    assert first.message == "M-Pesa statement: 2 payments added, 0 already known."  # type: ignore[attr-defined]
    assert (second.added, second.already) == (0, 2)  # type: ignore[attr-defined]
    assert len(payments(runtime, tenant)) == 2
    assert invoice(runtime, tenant, inv).status == InvoiceStatus.PAID


def test_statement_confirms_a_notice_we_could_not_verify(
    runtime: Runtime, daraja: Daraja
) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(
        runtime, tenant, daraja.url, initiator_name=None, security_credential=None
    )
    inv = add_invoice(runtime, tenant, 50_000, number="INV-0009")
    c2b = {
        "TransactionType": "Pay Bill",
        "TransID": "SQ9ZZ00001",
        "TransTime": NOW.strftime("%Y%m%d%H%M%S"),
        "TransAmount": "500.00",
        "BusinessShortCode": "174379",
        "BillRefNumber": "INV0009",
        "InvoiceNumber": "",
        "OrgAccountBalance": "",
        "ThirdPartyTransID": "",
        "MSISDN": "2547****5678",
        "FirstName": "Wanjiku",
        "MiddleName": "",
        "LastName": "",
    }
    deliver(runtime, tenant, integration, c2b, kind="confirm")
    assert payments(runtime, tenant) == []  # unverified: waits for a person

    result = _import(
        runtime,
        tenant,
        integration,
        _file(
            f"SQ9ZZ00001,{WHEN},Pay Bill,Completed,500.00,,2547****5678 - WANJIKU,INV0009\n"
        ),
    )

    assert result.added == 1  # type: ignore[attr-defined]
    [payment] = payments(runtime, tenant)
    assert payment.provider_reference == "SQ9ZZ00001"
    assert invoice(runtime, tenant, inv).status == InvoiceStatus.PAID
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        [row] = session.scalars(select(PaymentRequest)).all()
    assert (row.status, row.settled_via) == ("paid", "statement")


def test_not_a_statement_writes_nothing(runtime: Runtime, daraja: Daraja) -> None:
    tenant = make_company(runtime)
    integration = connect_mpesa(runtime, tenant, daraja.url)
    with pytest.raises(InvalidInput):
        _import(runtime, tenant, integration, b"name,phone\nAmina,0712\n")
    assert payments(runtime, tenant) == []
