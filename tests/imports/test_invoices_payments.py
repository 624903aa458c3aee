"""Invoices and payments from files: invoices get their payment reference and
become the customer's debt; payments are counted once per reference, matched
to invoices (the debt goes down) and undone with their matches."""

from __future__ import annotations

from sqlalchemy import select

from copcca.crm.invoices import customer_debt
from copcca.imports import service
from copcca.models.crm import Customer, Invoice, InvoiceStatus, Payment
from copcca.runtime import Runtime
from tests.helpers import Tenant, make_company
from tests.imports.helpers import check, import_file, job, upload

INVOICES = (
    "Facture,Client,Téléphone,Date,Échéance,Montant,Payé,Statut\n"
    'INV-0042,Wanjiku Kamau,0712 345 678,05/03/2025,05/04/2025,"KSh 1,500",,Ouverte\n'
    "INV-0043,Wanjiku Kamau,0712 345 678,06/03/2025,06/04/2025,2000,500,Partiellement payée\n"
    "INV-0044,Juma Otieno,0700 000 001,06/03/2025,,800,,Payée\n"
)


def _invoices(runtime: Runtime, tenant: Tenant) -> list[tuple[object, ...]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(
                Invoice.number,
                Invoice.payment_reference,
                Invoice.total_minor,
                Invoice.paid_minor,
                Invoice.status,
            ).order_by(Invoice.number)
        ).all()
    return [tuple(r) for r in rows]


def _debt(runtime: Runtime, tenant: Tenant, name: str) -> dict[str, int]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        customer = session.scalars(select(Customer).where(Customer.name == name)).one()
        return customer_debt(session, tenant.company_id, customer.id)


def _payments(runtime: Runtime, tenant: Tenant) -> list[tuple[object, ...]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(
                Payment.provider,
                Payment.provider_reference,
                Payment.amount_minor,
                Payment.status,
            ).order_by(Payment.provider)
        ).all()
    return [tuple(r) for r in rows]


def test_invoices_get_a_payment_reference_and_become_debt(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(runtime, tenant, INVOICES.encode("utf-8"), "invoices")

    assert (done.status, done.created_count, done.skipped_count) == ("finished", 3, 0)
    assert _invoices(runtime, tenant) == [
        ("INV-0042", "INV0042", 150000, 0, InvoiceStatus.OPEN),
        ("INV-0043", "INV0043", 200000, 50000, InvoiceStatus.PARTIALLY_PAID),
        ("INV-0044", "INV0044", 80000, 80000, InvoiceStatus.PAID),
    ]
    assert _debt(runtime, tenant, "Wanjiku Kamau") == {"KES": 150000 + 150000}
    assert _debt(runtime, tenant, "Juma Otieno") == {}

    again = import_file(runtime, tenant, INVOICES.encode("utf-8"), "invoices")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (
        0,
        0,
        3,
    )
    assert len(_invoices(runtime, tenant)) == 3


def test_an_invoice_update_is_undone(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, INVOICES.encode(), "invoices")
    before = _invoices(runtime, tenant)
    changed = INVOICES.replace('"KSh 1,500"', "1800").replace(",Ouverte", ",Open")
    done = import_file(runtime, tenant, changed.encode(), "invoices")
    assert (done.updated_count, done.unchanged_count) == (1, 2)
    assert _invoices(runtime, tenant)[0][2] == 180000

    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert _invoices(runtime, tenant) == before


def test_bad_status_and_amount_are_problems_with_codes(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    data = b"Invoice,Customer,Amount,Status\nA-1,Juma,abc,Open\nA-2,Juma,100,Maybe\n"
    checked = check(runtime, tenant, upload(runtime, tenant, data, "invoices"))
    assert checked.details["plan"]["skipped"] == 2
    assert checked.details["plan"]["problems"] == {
        "bad_amount": 1,
        "bad_status": 1,
        "unknown_customer": 1,
    }


CASH = (
    "Tarehe,Kiasi,Njia,Namba ya muamala,Ankara,Mlipaji\n"
    "07/03/2025,1500,Cash,,INV-0042,Wanjiku\n"
    "07/03/2025,700,Bank transfer,TRX-88,INV-0099,Juma\n"
)


def test_a_payment_file_pays_the_invoice_it_names_once(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, INVOICES.encode(), "invoices")
    assert _debt(runtime, tenant, "Wanjiku Kamau") == {"KES": 300000}

    done = import_file(runtime, tenant, CASH.encode(), "payments")

    assert (done.created_count, done.skipped_count) == (2, 0)
    assert done.details["problem_counts"] == {"unknown_invoice": 1}
    assert _debt(runtime, tenant, "Wanjiku Kamau") == {"KES": 150000}
    assert _invoices(runtime, tenant)[0][3:] == (150000, InvoiceStatus.PAID)
    [bank, (provider, _, amount, status)] = _payments(runtime, tenant)
    assert (provider, amount, status) == ("cash", 150000, "matched")
    assert bank[:3] == ("bank", "TRX-88", 70000)

    again = import_file(runtime, tenant, CASH.encode(), "payments")
    assert (again.created_count, again.unchanged_count) == (0, 2)
    assert again.details["problem_counts"]["already_counted"] == 2
    assert len(_payments(runtime, tenant)) == 2
    assert _debt(runtime, tenant, "Wanjiku Kamau") == {"KES": 150000}


def test_undoing_a_payment_import_makes_the_invoice_owed_again(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    import_file(runtime, tenant, INVOICES.encode(), "invoices")
    done = import_file(runtime, tenant, CASH.encode(), "payments")
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert job(runtime, tenant, done.id).details["undo"]["removed"] == 2
    assert _payments(runtime, tenant) == []
    assert _debt(runtime, tenant, "Wanjiku Kamau") == {"KES": 300000}
    assert _invoices(runtime, tenant)[0][3:] == (0, InvoiceStatus.OPEN)

    again = import_file(runtime, tenant, CASH.encode(), "payments")
    assert again.created_count == 2  # undone, so counted again exactly once


def test_undo_keeps_an_imported_invoice_that_was_paid_since(
    runtime: Runtime,
) -> None:
    tenant = make_company(runtime)
    invoices = import_file(runtime, tenant, INVOICES.encode(), "invoices")
    import_file(runtime, tenant, CASH.encode(), "payments")
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, invoices.id)
    undo = job(runtime, tenant, invoices.id).details["undo"]
    # INV-0043, INV-0044 and Juma go; paid INV-0042 and its customer stay.
    assert (undo["removed"], undo["conflicts"]) == (3, 2)
    assert [r[0] for r in _invoices(runtime, tenant)] == ["INV-0042"]


def test_bad_amounts_are_left_out(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    data = b"Date,Amount,Method,Reference\n07/03/2025,-5,Cash,A\n07/03/2025,x,Cash,B\n"
    checked = check(runtime, tenant, upload(runtime, tenant, data, "payments"))
    assert checked.details["plan"]["problems"] == {"bad_amount": 2}
    assert checked.details["plan"]["skipped"] == 2
