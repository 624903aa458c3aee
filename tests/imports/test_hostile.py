"""The hostile data set: each file gets its exact, plain outcome, and a
refused file leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from copcca.errors import CopccaError
from copcca.models.crm import Customer
from copcca.models.imports import ImportJob
from copcca.runtime import Runtime
from tests.helpers import make_company
from tests.imports.helpers import check, customers, import_file, job, upload

DATA = Path(__file__).parents[1] / "data" / "imports" / "hostile"


def _nothing_written(runtime: Runtime, company_id: object) -> None:
    with runtime.db.transaction(company_id, write=False) as session:  # type: ignore[arg-type]
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("empty.csv", "empty_file", "This file is empty."),
        (
            "binary_renamed.csv",
            "not_a_table",
            "This file is a PNG picture, not a spreadsheet.",
        ),
        (
            "password.xlsx",
            "password_protected",
            "This spreadsheet is protected with a password, so it cannot be read.",
        ),
        (
            "huge_cell.csv",
            "file_too_big",
            "Row 2 has a cell longer than 10,000 characters.",
        ),
        (
            "undecodable.csv",
            "undecodable_text",
            "Row 4 is not valid UTF-8 text, so the file cannot be read safely.",
        ),
    ],
)
def test_refused_files_say_why_and_write_nothing(
    runtime: Runtime, name: str, code: str, message: str
) -> None:
    tenant = make_company(runtime)
    with pytest.raises(CopccaError) as refused:
        upload(runtime, tenant, DATA / name, filename=name)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert refused.value.fix
    _nothing_written(runtime, tenant.company_id)


def test_half_the_phones_invalid_are_listed_and_left_out(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    job_id = upload(runtime, tenant, DATA / "half_bad_phones.csv")
    plan = check(runtime, tenant, job_id).details["plan"]
    assert plan["created"] == 10
    assert plan["skipped"] == 10
    assert plan["problems"] == {"bad_phone": 10}
    done = import_file(runtime, tenant, DATA / "half_bad_phones.csv")
    assert (done.created_count, done.skipped_count) == (10, 10)


def test_bad_phones_can_be_imported_without_the_phone(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(
        runtime,
        tenant,
        DATA / "half_bad_phones.csv",
        on_problem={"bad_phone": "without"},
    )
    assert (done.created_count, done.skipped_count) == (20, 0)


def test_duplicate_ids_match_by_id_then_phone_then_email(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(runtime, tenant, DATA / "duplicate_ids.csv")
    assert done.status == "finished"
    # C1 twice -> one record; C3 shares C1's email, so the email matches it
    # (ids, then phone, then email); C2 again without a phone matches by id.
    assert customers(runtime, tenant) == [
        ("Baraka O.", "+254722000111", None),
        ("Chausiku", "+254712345678", "amina@example.com"),
    ]
    assert done.details["problem_counts"] == {"duplicate_in_file": 3}
    again = import_file(runtime, tenant, DATA / "duplicate_ids.csv")
    assert (again.created_count, len(customers(runtime, tenant))) == (0, 2)


def test_formulas_are_never_imported_as_formulas(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(runtime, tenant, DATA / "formulas.csv")
    assert done.details["problem_counts"] == {"formula": 2}
    assert customers(runtime, tenant) == [
        ("Baraka", "+254722000111", None),
        ("Chausiku", "+254733000222", None),
    ]


def test_spreadsheet_damage_is_undone(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    done = import_file(runtime, tenant, DATA / "spreadsheet_damage.csv")
    assert done.details["problem_counts"] == {"phone_digits_lost": 1, "total_row": 1}
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(
                Customer.name, Customer.phone, Customer.balance_minor, Customer.currency
            ).order_by(Customer.name)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("Amina", "+254712345678", 100000, "KES"),
        ("Baraka", "+254722000111", 2000000, "TZS"),
        ("Dawa", "+254744000333", 100000, "KES"),
    ]


def test_sheet_without_header_is_mapped_from_its_values(runtime: Runtime) -> None:
    tenant = make_company(runtime)
    job_id = upload(runtime, tenant, DATA / "no_header.csv")
    row = job(runtime, tenant, job_id)
    assert row.details["layout"]["notices"] == [{"code": "no_header"}]
    assert row.header_row == 0
    assert row.total_rows == 3
    assert [c["field"] for c in row.mapping["columns"]] == ["name", "phone", "email"]
