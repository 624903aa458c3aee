"""Upload, map, check, import, re-import and undo: the whole flow."""

from __future__ import annotations

from sqlalchemy import func, select

from copcca.models.audit import AuditEntry
from copcca.models.crm import Customer
from copcca.models.integrations import SyncLog
from copcca.runtime import Runtime
from tests.helpers import make_company
from tests.imports.helpers import check, customers, job, run, upload

SWAHILI = (
    b"Jina;Namba ya simu;Barua pepe;Mji;Deni\n"
    b"Amina Njeri;0712 345 678;AMINA@example.co.ke;Nairobi;KSh 1,000\n"
    b'Baraka Otieno;712345679;;Mombasa;"TSh 20,000/="\n'
    b"\n"
    b"Amina N.;+254712345678;;Nairobi;1 500\n"
    b"Chausiku;07123;;Arusha;300\n"
    b"Jumla;;;;21800\n"
)


def test_swahili_csv_is_mapped_checked_imported_and_undone(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    job_id = upload(runtime, tenant, SWAHILI)
    uploaded = job(runtime, tenant, job_id)
    fields = [c["field"] for c in uploaded.mapping["columns"]]
    assert fields == ["name", "phone", "email", "city", "balance"]
    assert uploaded.total_rows == 5

    checked = check(runtime, tenant, job_id)
    assert checked.status == "checked"
    assert checked.details["plan"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 1,
        "skipped": 2,
        "processed": 5,
        "problems": {"duplicate_in_file": 1, "bad_phone": 1, "total_row": 1},
    }
    assert customers(runtime, tenant) == []  # the check wrote nothing

    done = run(runtime, tenant, job_id)
    assert done.status == "finished", done.error
    assert (done.created_count, done.unchanged_count, done.skipped_count) == (2, 1, 2)
    assert customers(runtime, tenant) == [
        ("Amina N.", "+254712345678", "amina@example.co.ke"),
        ("Baraka Otieno", "+254712345679", None),
    ]
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        balances = dict(
            session.execute(select(Customer.name, Customer.balance_minor)).all()
        )
        assert balances == {"Amina N.": 150000, "Baraka Otieno": 2000000}
        log = session.scalars(select(SyncLog).where(SyncLog.kind == "import")).one()
        assert (log.status, log.created_count, log.skipped_count) == ("partial", 2, 2)
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"import.started", "import.finished"} <= actions

    again = upload(runtime, tenant, SWAHILI)
    second = run(runtime, tenant, again)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (
        0,
        0,
        3,
    )
    assert len(customers(runtime, tenant)) == 2

    from copcca.imports import service

    with runtime.db.transaction(tenant.company_id) as session:
        service.request_undo(session, tenant.principal, job_id)
    assert job(runtime, tenant, job_id).status == "undone"
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
