"""Customer and product lookups for one unit of work, remembered.

The ingest service asks, per record, "which customer has this id, phone or
email?" and "which product has this id or SKU?". Each repository answers
from memory after the first time, and ``preload`` answers a whole page's
questions in one query, so a sync page of 250 orders costs a handful of
queries and its inserts are flushed together. Rows this unit of work adds
or changes are remembered too (``remember``), so a customer created by the
first order of a page is found by the second. ``forget`` drops everything
(after a rolled-back savepoint the memory may name rows that are gone).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_

from copcca.crm.deferred import Pending
from copcca.db.repository import TenantRepository
from copcca.models.crm import Customer, Product

CHUNK = 500


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    items = sorted(set(values), key=str)
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


class CustomerRepository(TenantRepository[Customer]):
    model = Customer
    noun = "customer"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # A queued new customer (``Pending``) is found like a row until the
        # batch writes it (``forget_pending``).
        self._ids: dict[uuid.UUID, Customer | Pending | None] = {}
        self._phones: dict[str, Customer | Pending | None] = {}
        self._emails: dict[str, Customer | Pending | None] = {}

    def get(self, id_: uuid.UUID) -> Customer | Pending | None:  # type: ignore[override]
        if id_ not in self._ids:
            self._ids[id_] = super().get(id_)
        return self._ids[id_]

    def by_phone(self, phone: str) -> Customer | Pending | None:
        if phone not in self._phones:
            stmt = self.select().where(
                Customer.phone == phone, Customer.deleted_at.is_(None)
            )
            stmt = stmt.order_by(Customer.created_at).limit(1)
            self._phones[phone] = self.session.scalars(stmt).first()
        return self._phones[phone]

    def by_email(self, email: str) -> Customer | Pending | None:
        if email not in self._emails:
            stmt = self.select().where(
                Customer.email == email, Customer.deleted_at.is_(None)
            )
            stmt = stmt.order_by(Customer.created_at).limit(1)
            self._emails[email] = self.session.scalars(stmt).first()
        return self._emails[email]

    def preload(
        self,
        ids: Iterable[uuid.UUID] = (),
        phones: Iterable[str] = (),
        emails: Iterable[str] = (),
    ) -> None:
        """Answer many lookups in few queries."""
        ids = [i for i in ids if i not in self._ids]
        phones = [p for p in phones if p not in self._phones]
        emails = [e for e in emails if e not in self._emails]
        for chunk in _chunks(ids):
            for row in self.session.scalars(
                self.select().where(Customer.id.in_(chunk))
            ):
                self._ids[row.id] = row
            for id_ in chunk:
                self._ids.setdefault(id_, None)
        for values, column, memo in (
            (phones, Customer.phone, self._phones),
            (emails, Customer.email, self._emails),
        ):
            for chunk in _chunks(values):
                stmt = self.select().where(
                    column.in_(chunk), Customer.deleted_at.is_(None)
                )
                for row in self.session.scalars(stmt.order_by(Customer.created_at)):
                    memo.setdefault(getattr(row, column.key), row)
                for value in chunk:
                    memo.setdefault(value, None)

    def known(self, id_: uuid.UUID, row: Customer | None) -> None:
        """A row (or its absence) the caller already loaded by id."""
        self._ids[id_] = row

    def remember(self, row: Customer | Pending) -> None:
        """A row this unit of work added or changed: later lookups find it."""
        self._ids[row.id] = row
        if row.phone and self._phones.get(row.phone) is None:
            self._phones[row.phone] = row
        if row.email and self._emails.get(row.email) is None:
            self._emails[row.email] = row

    def forget_pending(self) -> None:
        """The queued customers are written: later lookups load the rows."""
        for memo in (self._ids, self._phones, self._emails):
            for key in [k for k, v in memo.items() if isinstance(v, Pending)]:
                del memo[key]  # type: ignore[arg-type]

    def forget(self) -> None:
        self._ids.clear()
        self._phones.clear()
        self._emails.clear()


class ProductRepository(TenantRepository[Product]):
    model = Product
    noun = "product"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._ids: dict[uuid.UUID, Product | None] = {}
        self._skus: dict[str, Product | None] = {}

    def get(self, id_: uuid.UUID) -> Product | None:
        if id_ not in self._ids:
            self._ids[id_] = super().get(id_)
        return self._ids[id_]

    def by_sku(self, sku: str) -> Product | None:
        if sku not in self._skus:
            stmt = self.select().where(Product.sku == sku).limit(1)
            self._skus[sku] = self.session.scalars(stmt).first()
        return self._skus[sku]

    def by_skus_or_names(self, keys: list[str]) -> list[Product]:
        stmt = self.select().where(or_(Product.sku.in_(keys), Product.name.in_(keys)))
        return list(self.session.scalars(stmt))

    def preload(self, ids: Iterable[uuid.UUID] = (), skus: Iterable[str] = ()) -> None:
        ids = [i for i in ids if i not in self._ids]
        skus = [s for s in skus if s not in self._skus]
        for chunk in _chunks(ids):
            for row in self.session.scalars(self.select().where(Product.id.in_(chunk))):
                self._ids[row.id] = row
            for id_ in chunk:
                self._ids.setdefault(id_, None)
        for chunk in _chunks(skus):
            for row in self.session.scalars(
                self.select().where(Product.sku.in_(chunk))
            ):
                self._skus[row.sku or ""] = row
            for sku in chunk:
                self._skus.setdefault(sku, None)

    def known(self, id_: uuid.UUID, row: Product | None) -> None:
        """A row (or its absence) the caller already loaded by id."""
        self._ids[id_] = row

    def remember(self, row: Product) -> None:
        self._ids[row.id] = row
        if row.sku:
            self._skus[row.sku] = row

    def forget(self) -> None:
        self._ids.clear()
        self._skus.clear()
