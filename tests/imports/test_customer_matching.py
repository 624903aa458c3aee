"""How the bulk customer writer matches rows: phones written in mixed local
formats are one customer, duplicates are found across batch boundaries, an
existing customer is found by phone or by email in the order the company's
deduplication rule gives, and a second import of the same file changes
nothing. Small batches make every file here span several of them."""

from __future__ import annotations

from sqlalchemy import select

from copcca.imports import service
from copcca.models.crm import Customer
from copcca.models.imports import ImportJob
from copcca.models.integrations import DeduplicationRule
from copcca.runtime import Runtime
from tests.helpers import Tenant, make_company
from tests.imports.helpers import import_file, job


def _rows(runtime: Runtime, tenant: Tenant) -> list[tuple[object, ...]]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        found = session.execute(
            select(
                Customer.name,
                Customer.phone,
                Customer.email,
                Customer.phones,
                Customer.emails,
                Customer.balance_minor,
            ).order_by(Customer.name)
        ).all()
    return [(r[0], r[1], r[2], list(r[3]), list(r[4]), r[5]) for r in found]


def _problems(done: ImportJob) -> dict[str, int]:
    return dict(done.details.get("problem_counts") or {})


def test_mixed_phone_formats_are_one_customer_across_batches(runtime: Runtime) -> None:
    runtime.settings.import_batch_rows = 2
    tenant = make_company(runtime)
    data = (
        b"Name,Phone,Email,Balance\n"
        b"Amina,0712 345 678,,100\n"
        b'Baraka,+254 722-000-111,,"KSh 2,000"\n'
        b"Amina K,712345678,,\n"  # batch 2: Amina again, without the 0
        b"Baraka O,254722000111,baraka@example.com,\n"
        b"Amina W,+254712345678,amina@example.com,1 500\n"  # batch 3
        b"Chausiku,0733 000 222,,0\n"
    )
    done = import_file(runtime, tenant, data)
    assert done.status == "finished", done.error
    assert (done.created_count, done.updated_count, done.unchanged_count) == (3, 3, 0)
    assert _problems(done) == {"duplicate_in_file": 3}
    state = [
        ("Amina W", "+254712345678", "amina@example.com", ["+254712345678"],
         ["amina@example.com"], 150000),
        ("Baraka O", "+254722000111", "baraka@example.com", ["+254722000111"],
         ["baraka@example.com"], 200000),
        ("Chausiku", "+254733000222", None, ["+254733000222"], [], 0),
    ]  # fmt: skip
    assert _rows(runtime, tenant) == state
    # Again: the rows replay onto the same records; nothing new, same end.
    again = import_file(runtime, tenant, data)
    assert again.created_count == 0
    assert _rows(runtime, tenant) == state


def test_reimport_of_a_clean_file_changes_nothing(runtime: Runtime) -> None:
    runtime.settings.import_batch_rows = 2
    tenant = make_company(runtime)
    data = (
        b"Name,Phone,Email,Balance\n"
        b"Amina,0712 345 678,amina@example.com,100\n"
        b"Baraka,+254 722-000-111,,200\n"
        b"Chausiku,,chausiku@example.com,\n"
    )
    first = import_file(runtime, tenant, data)
    assert first.created_count == 3, first.error
    state = _rows(runtime, tenant)
    again = import_file(runtime, tenant, data)
    assert (again.created_count, again.updated_count) == (0, 0)
    assert again.unchanged_count == 3
    assert _rows(runtime, tenant) == state


def test_duplicate_by_email_in_a_later_batch_merges(runtime: Runtime) -> None:
    runtime.settings.import_batch_rows = 3
    tenant = make_company(runtime)
    data = (
        b"Name,Phone,Email\n"
        b"Dawa,0744 555 666,dawa@example.com\n"
        b"Esther,0755 000 111,\n"
        b"Fatuma,,fatuma@example.com\n"
        b"Dawa Shop,0766 000 999,DAWA@example.com\n"  # batch 2: Dawa by email
        b"Fatuma A,0777 111 222,fatuma@example.com\n"
    )
    done = import_file(runtime, tenant, data)
    assert done.status == "finished", done.error
    assert done.created_count == 3
    rows = {r[0]: r for r in _rows(runtime, tenant)}
    assert sorted(rows) == ["Dawa Shop", "Esther", "Fatuma A"]
    # The first phone stays primary; the second is kept as an extra one.
    assert rows["Dawa Shop"][1:4] == (
        "+254744555666",
        "dawa@example.com",
        ["+254744555666", "+254766000999"],
    )
    assert rows["Fatuma A"][1] == "+254777111222"  # filled in, it had none


def _existing(runtime: Runtime, tenant: Tenant) -> None:
    with runtime.db.transaction(tenant.company_id) as session:
        session.add_all(
            [
                Customer(
                    company_id=tenant.company_id,
                    name="By phone",
                    currency="KES",
                    phone="+254712000001",
                    phones=["+254712000001"],
                    emails=[],
                ),
                Customer(
                    company_id=tenant.company_id,
                    name="By email",
                    currency="KES",
                    email="mail@example.com",
                    phones=[],
                    emails=["mail@example.com"],
                ),
            ]
        )


def test_existing_customer_found_by_phone_then_email(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    _existing(runtime, tenant)
    data = (
        b"Name,Phone,Email,City\n"
        b"Row one,0712 000 001,other@example.com,Nairobi\n"  # phone wins
        b"Row two,0799 000 002,mail@example.com,Kisumu\n"  # only the email
    )
    done = import_file(runtime, tenant, data)
    assert (done.created_count, done.updated_count) == (0, 2), done.error
    assert _problems(done) == {"duplicate_existing": 2}
    assert [r[:5] for r in _rows(runtime, tenant)] == [
        ("Row one", "+254712000001", "other@example.com", ["+254712000001"],
         ["other@example.com"]),
        ("Row two", "+254799000002", "mail@example.com", ["+254799000002"],
         ["mail@example.com"]),
    ]  # fmt: skip


def test_company_rule_email_first_picks_the_other_customer(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    _existing(runtime, tenant)
    with runtime.db.transaction(tenant.company_id) as session:
        session.add(
            DeduplicationRule(
                company_id=tenant.company_id,
                entity="customer",
                match_on=["email", "phone"],
            )
        )
    data = b"Name,Phone,Email\nBoth,0712 000 001,mail@example.com\n"
    done = import_file(runtime, tenant, data)
    assert (done.created_count, done.updated_count) == (0, 1), done.error
    names = [r[0] for r in _rows(runtime, tenant)]
    assert names == ["Both", "By phone"]  # the email's customer took the row


def test_rule_without_phone_does_not_match_by_phone(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    _existing(runtime, tenant)
    with runtime.db.transaction(tenant.company_id) as session:
        session.add(
            DeduplicationRule(
                company_id=tenant.company_id, entity="customer", match_on=["email"]
            )
        )
    data = b"Name,Phone\nSame phone,0712 000 001\n"
    done = import_file(runtime, tenant, data)
    assert (done.created_count, done.updated_count) == (1, 0), done.error


def test_undo_removes_created_and_restores_updated(runtime: Runtime) -> None:
    runtime.settings.import_batch_rows = 2
    tenant = make_company(runtime)
    _existing(runtime, tenant)
    before = _rows(runtime, tenant)
    data = (
        b"Name,Phone,Email\n"
        b"New one,0700 111 222,\n"
        b"Updated,0712 000 001,\n"
        b"New one again,+254700111222,new@example.com\n"
    )
    done = import_file(runtime, tenant, data)
    # Batch 2 updates the customer batch 1 created: counted per batch.
    assert (done.created_count, done.updated_count) == (1, 2), done.error
    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, done.id)
    assert job(runtime, tenant, done.id).status == "undone"
    assert _rows(runtime, tenant) == before
