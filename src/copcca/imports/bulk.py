"""Set-based reads and writes for imports.

Rows are written with one ``executemany`` per batch through the session's
own connection (so the unit of work, the PostgreSQL tenant setting and RLS
all apply), with values converted to storage form by SQLAlchemy's own type
processors, column by column. This is what keeps a million-row import near
the speed of a bare insert (see bench/imports.py).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, Table, Uuid, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from copcca.db.base import UTCDateTime

IN_CHUNK = 5_000


def new_ids(count: int) -> list[uuid.UUID]:
    """Random version-4 UUIDs, made in one go."""
    data = _uuid4_bytes(count)
    return [uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)]


def new_hex_ids(count: int) -> list[str]:
    """Random version-4 UUIDs as 32 hex digits (``UUID.hex``), made in one
    go: what SQLite stores, and what PostgreSQL reads as a uuid, without a
    ``UUID`` object per row."""
    text = _uuid4_bytes(count).hex()
    return [text[i : i + 32] for i in range(0, len(text), 32)]


def _uuid4_bytes(count: int) -> bytes:
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])
    return bytes(raw)


def _processor(
    session: Session, table: Table, name: str
) -> Callable[[Any], Any] | None:
    return _column_processor(session.get_bind().dialect, table, name)


@lru_cache(maxsize=512)  # a sync page asks for the same few dozen, every page
def _column_processor(
    dialect: Dialect, table: Table, name: str
) -> Callable[[Any], Any] | None:
    column = table.c[name]
    if isinstance(column.type, Uuid) and not dialect.supports_native_uuid:
        return _HEX  # what SQLAlchemy's Uuid stores there, minus the call overhead
    if isinstance(column.type, UTCDateTime) and dialect.name == "sqlite":
        return sqlite_stamp
    proc: Callable[[Any], Any] | None = column.type.dialect_impl(
        dialect
    ).bind_processor(dialect)
    return proc


_HEX = attrgetter("hex")


def sqlite_stamp(value: datetime) -> str:
    """What ``UTCDateTime`` stores on SQLite (UTC, no zone, microseconds:
    ``2026-12-04 21:53:10.000000``), in one C call instead of SQLAlchemy's
    two processors; a sync page writes several stamps per row."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given; use datetime.now(UTC)")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without "+00:00"


def _keep_none(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else proc(value)


def json_list(items: list[str]) -> str:
    """``json.dumps`` of a list of plain strings, fast for the usual case."""
    if any('"' in i or "\\" in i or not i.isprintable() for i in items):
        return json.dumps(items)
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def json_singles(values: Sequence[str | None]) -> list[str]:
    """``json_list([value])`` (``[]`` for no value) of each value, a column
    at a time."""
    return [
        "[]"
        if not v
        else f'["{v}"]'
        if '"' not in v and "\\" not in v and v.isprintable()
        else json.dumps([v])
        for v in values
    ]


def _placeholder(session: Session) -> str:
    return "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"


def insert_rows(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: dict[str, Any],
    prepared: frozenset[str] = frozenset(),
) -> int:
    """Insert rows given column-wise; ``constants`` are the same in every row;
    ``prepared`` columns are already in storage form (JSON text, or ids as
    :func:`new_hex_ids` gives them)."""
    names = list(columns) + list(constants)
    size = len(next(iter(columns.values()))) if columns else 0
    if not size:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _insert_unnest(session, table, columns, constants, prepared, size)
    data: list[Iterable[Any]] = []
    for name, column in columns.items():
        proc = None if name in prepared else _processor(session, table, name)
        if proc is not None and table.c[name].nullable:
            proc = _keep_none(proc)
        data.append(list(map(proc, column)) if proc else column)
    for name, value in constants.items():
        proc = _processor(session, table, name)
        stored = proc(value) if proc and value is not None else value
        data.append([stored] * size)
    mark = _placeholder(session)
    # Table and column names come from our own models, never from input.
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    session.connection().exec_driver_sql(sql, list(zip(*data, strict=True)))
    return size


def _insert_unnest(
    session: Session,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: dict[str, Any],
    prepared: frozenset[str],
    size: int,
) -> int:
    """PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays)`` per batch,
    the set-based form of a bulk insert that row-level security allows
    (``COPY FROM`` does not run under RLS). Constants are sent once, not as
    arrays; text and integer columns travel as one string each (see
    :func:`_joined`), which spares the driver quoting every element."""
    dialect = session.get_bind().dialect
    arrays: list[str] = []
    params: list[Any] = []
    for name, column in columns.items():
        kind = table.c[name].type.compile(dialect)
        values = list(column)
        if kind == "JSONB" and name not in prepared:
            values = [None if v is None else json.dumps(v) for v in values]
        joined = _joined(values)
        if joined is not None:
            arrays.append(f"string_to_array(%s::text, chr(31), chr(30))::{kind}[]")
            params.append(joined)
        else:
            arrays.append(
                f"%s::text[]::{kind}[]" if kind == "JSONB" else f"%s::{kind}[]"
            )
            params.append(values)
    scalars: list[str] = []
    for name, value in reversed(constants.items()):  # they come first in the SQL
        kind = table.c[name].type.compile(dialect)
        if kind == "JSONB" and value is not None:
            value = json.dumps(value)
        scalars.insert(0, f"%s::{kind}")
        params.insert(0, value)
    names = [*columns, *constants]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
        f"SELECT u.*{''.join(', ' + s for s in scalars)} "
        f"FROM unnest({', '.join(arrays)}) AS u"
    )
    session.connection().exec_driver_sql(sql, tuple(params))
    return size


UNIT_SEPARATOR, NULL_MARK = "\x1f", "\x1e"


def _joined(values: list[Any]) -> str | None:
    """A column of text (or whole numbers) as one string for PostgreSQL's
    ``string_to_array(s, chr(31), chr(30))``: values apart by the unit
    separator, NULL as the record separator alone. None when that would not
    read back exactly (a value holding either control character, other
    types, a single value)."""
    if len(values) < 2:
        return None  # string_to_array('') is an empty array, not ['']
    nulls = values.count(None)
    try:
        joined = UNIT_SEPARATOR.join([NULL_MARK if v is None else v for v in values])
    except TypeError:  # not text: whole numbers, or something else
        if not all(v is None or v.__class__ is int for v in values):
            return None
        joined = UNIT_SEPARATOR.join(
            [NULL_MARK if v is None else str(v) for v in values]
        )
    if joined.count(UNIT_SEPARATOR) != len(values) - 1:
        return None
    if joined.count(NULL_MARK) != nulls:
        return None
    return joined


def update_rows(
    session: Session,
    table: Table,
    set_columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    company_id: uuid.UUID,
) -> int:
    """``UPDATE table SET ... WHERE id = ? AND company_id = ?`` for each row."""
    if not rows:
        return 0
    procs = {name: _processor(session, table, name) for name in (*set_columns, "id")}
    company_proc = _processor(session, table, "company_id")
    company = company_proc(company_id) if company_proc else company_id

    def stored(name: str, value: Any) -> Any:
        proc = procs[name]
        return proc(value) if proc and value is not None else value

    params = [
        (*(stored(n, row[n]) for n in set_columns), stored("id", row["id"]), company)
        for row in rows
    ]
    mark = _placeholder(session)
    assignments = ", ".join(f"{n} = {mark}" for n in set_columns)
    sql = (  # names come from our own models, never from input
        f"UPDATE {table.name} SET {assignments} "  # noqa: S608
        f"WHERE id = {mark} AND company_id = {mark}"
    )
    session.connection().exec_driver_sql(sql, params)
    return len(rows)


def select_in(
    session: Session,
    columns: Sequence[Any],
    key: Any,
    keys: Iterable[Any],
    *where: ColumnElement[bool],
) -> list[Any]:
    """Rows whose ``key`` is one of ``keys``, fetched in chunks."""
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    found: list[Any] = []
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        stmt = select(*columns).where(key.in_(chunk), *where)
        found.extend(session.execute(stmt).all())
    return found


def delete_ids(
    session: Session, table: Table, ids: Sequence[uuid.UUID], company_id: uuid.UUID
) -> int:
    deleted = 0
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        result = session.execute(
            table.delete().where(
                table.c.id.in_(chunk), table.c.company_id == company_id
            )
        )
        deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
