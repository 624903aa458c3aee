"""Rows a batch inserts at its end, one statement per table.

A sync page is mostly new rows (sales, their lines, links, events, and
the customers of first-time buyers). Inside ``Ingestor.batched()`` an
upserter queues them as plain values instead of ORM objects, and they are
written together through the import's bulk writer when the page ends.

A queued customer is still matched by the later records of the same page
(by its external id, phone or email) through a :class:`Pending`
stand-in: it reads and writes the queued values, so a second order of the
same buyer that brings a new email changes the row before it is written.
Only queued rows may refer to a pending row; an ORM row that needs one
(a changed sale, an invoice) writes the queue first.
"""

from __future__ import annotations

import uuid
from operator import itemgetter
from typing import Any

from sqlalchemy import Uuid
from sqlalchemy.orm import Session

from copcca.imports.bulk import insert_rows


class Pending:
    """A queued row, read and changed by attribute like the ORM row it
    stands in for (``customer.email``, ``setattr(customer, "city", …)``)."""

    __slots__ = ("values",)
    values: dict[str, Any]

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "values", values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.values[name] = value


def write(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """One column-wise insert of ``rows`` (all with the same keys)."""
    table = model.__table__  # type: ignore[attr-defined]
    columns, constants, prepared = _columns(session, table, rows)
    insert_rows(session, table, columns, constants, prepared)


def _columns(
    session: Session, table: Any, rows: list[dict[str, Any]]
) -> tuple[dict[str, list[Any]], dict[str, Any], frozenset[str]]:
    """Deferred rows column by column, for the bulk writer, with the values
    every row shares (the company, the integration, the batch's time: one
    object) apart, converted once. Where UUIDs are stored as text (SQLite)
    the other UUID columns, nullable ones too (a sale without a customer, a
    line whose product was deleted), are converted here."""
    columns: dict[str, list[Any]] = {}
    constants: dict[str, Any] = {}
    for name in rows[0]:
        values = list(map(itemgetter(name), rows))
        first = values[0]
        # ``is`` first: list.count compares by identity before equality.
        if name != "id" and first is values[-1] and values.count(first) == len(values):
            constants[name] = first
        else:
            columns[name] = values
    if session.get_bind().dialect.supports_native_uuid:
        return columns, constants, frozenset()
    prepared = set()
    for name, values in columns.items():
        if isinstance(table.c[name].type, Uuid):
            columns[name] = list(map(_hex, values))
            prepared.add(name)
    return columns, constants, frozenset(prepared)


def _hex(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex
