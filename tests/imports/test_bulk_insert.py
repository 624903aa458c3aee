"""``bulk.insert_rows`` stores every value exactly, on SQLite and on
PostgreSQL, whichever way a column travels: one joined string per column
(text and whole numbers) or an array parameter (values that cannot be
joined safely, single rows, other types)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.dialects import sqlite

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.models.crm import Customer
from copcca.runtime import Runtime
from tests.helpers import make_company

TABLE = cast(Table, Customer.__table__)
AWKWARD = [
    'Quote " and \\ backslash',
    "{braces}, commas, (brackets)",
    "",
    "NULL",
    "Unit\x1fseparator",
    "Record\x1eseparator",
    "\x1e",
    "Kiswahili na Français: ñ, é, 🙂",
    None,
]


def _insert_and_read(runtime: Runtime, names: list[Any], notes: list[Any]) -> list:
    tenant = make_company(runtime)
    ids = bulk.new_hex_ids(len(names))
    now = utcnow()
    with runtime.db.transaction(tenant.company_id) as session:
        bulk.insert_rows(
            session,
            TABLE,
            {
                "id": ids,
                "name": [n if n is not None else "-" for n in names],
                "notes": notes,
                "balance_minor": [i * 10**12 for i in range(len(names))],
                "phones": ['["+254712345678"]'] * len(names),
                "emails": ["[]"] * len(names),
            },
            {
                "company_id": tenant.company_id,
                "currency": "KES",
                "source": "import",
                "created_at": now,
                "updated_at": now,
            },
            prepared=frozenset({"id", "phones", "emails"}),
        )
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        rows = session.execute(
            select(
                Customer.id,
                Customer.name,
                Customer.notes,
                Customer.balance_minor,
                Customer.phones,
                Customer.emails,
            )
        ).all()
    order = {uuid.UUID(i): n for n, i in enumerate(ids)}
    return [tuple(r[1:]) for r in sorted(rows, key=lambda r: order[r[0]])]


@pytest.mark.parametrize("size", [1, 2, len(AWKWARD)])
def test_awkward_text_and_nulls_round_trip(runtime: Runtime, size: int) -> None:
    names = [v if v is not None else "-" for v in AWKWARD[:size]]
    notes = list(reversed(AWKWARD))[:size]
    assert _insert_and_read(runtime, names, notes) == [
        (names[i], notes[i], i * 10**12, ["+254712345678"], []) for i in range(size)
    ]


def test_joined_only_when_it_reads_back_exactly() -> None:
    assert bulk._joined(["a", None, ""]) == "a\x1f\x1e\x1f"
    assert bulk._joined([1, None, -5]) == "1\x1f\x1e\x1f-5"
    assert bulk._joined(["only one"]) is None
    assert bulk._joined(["a\x1fb", "c"]) is None
    assert bulk._joined(["a\x1e", None]) is None
    assert bulk._joined([True, False]) is None
    assert bulk._joined([1.5, 2.5]) is None


@pytest.mark.parametrize(
    "stamp",
    [
        datetime(2026, 12, 4, 21, 53, 10, tzinfo=UTC),
        datetime(2026, 12, 4, 21, 53, 10, 123456, tzinfo=UTC),
        datetime(2027, 1, 1, 2, 0, 0, 5, tzinfo=timezone(timedelta(hours=3))),
        datetime(999, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_sqlite_stamp_stores_what_sqlalchemy_would(stamp: datetime) -> None:
    dialect = sqlite.dialect()
    column = TABLE.c["created_at"]
    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    assert bulk.sqlite_stamp(stamp) == bind(stamp)


def test_sqlite_stamp_refuses_a_naive_time_like_the_column_does() -> None:
    with pytest.raises(ValueError, match="naive"):
        bulk.sqlite_stamp(datetime(2026, 12, 4, 21, 53))
