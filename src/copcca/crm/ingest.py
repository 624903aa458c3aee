"""Upsert provider records into the CRM, de-duplicated.

A customer is matched by its external id in the same integration, then by
phone (E.164 in the company's region), then by email; a product by external
id, then SKU. Re-ingesting the same record changes nothing (promise J3).
Each call says whether it created, updated or left the row unchanged, so
sync logs and imports can count honestly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from copcca import events
from copcca.crm import deferred
from copcca.crm.deferred import Pending
from copcca.crm.external_ids import ExternalIdRepository, Link
from copcca.crm.ids import new_id
from copcca.crm.phones import normalise_phone
from copcca.crm.records import CustomerRecord, ProductRecord
from copcca.crm.repository import CustomerRepository, ProductRepository
from copcca.db.base import utcnow
from copcca.models.crm import Customer, ExternalId, Product
from copcca.models.tenancy import Company
from copcca.models.webhooks import Event


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Upserted:
    id: uuid.UUID
    outcome: Outcome


@dataclass
class Keys:
    """What upserting a batch will look up, gathered to ask for it at once."""

    external: dict[str, set[str]] = field(default_factory=dict)  # entity -> ids
    customers: list[CustomerRecord] = field(default_factory=list)
    # SKUs, looked up only when the product's external id is not linked yet
    # (a linked product is found by its link): (external id, SKU).
    product_skus: list[tuple[str | None, str]] = field(default_factory=list)
    # Entities whose rows (not only links) the batch compares: product
    # records do; an order line only needs to know the product's id.
    rows: set[str] = field(default_factory=set)

    def add(self, entity: str, external_id: str | None) -> None:
        if external_id:
            self.external.setdefault(entity, set()).add(external_id)

    def customer(self, record: CustomerRecord) -> None:
        self.add("customer", record.external_id)
        self.customers.append(record)

    def product(self, record: ProductRecord) -> None:
        self.add("product", record.external_id)
        self.rows.add("product")
        self.product_sku(record.external_id, record.sku)

    def product_sku(self, external_id: str | None, sku: str | None) -> None:
        """The product with ``external_id`` may be matched by ``sku``."""
        if sku and sku.strip():
            self.product_skus.append((external_id, sku.strip()))


# Upserters for record types defined in other CRM modules (sales, invoices,
# payments): ``register_upserter(SaleRecord, upsert_sale, keys=sale_keys)``;
# ``keys`` tells ``Ingestor.prefetch`` what such a record will look up.
Upserter = Callable[["Ingestor", Any], Upserted]
KeyFinder = Callable[[Any, Keys], None]
_UPSERTERS: dict[type, Upserter] = {}
_KEY_FINDERS: dict[type, KeyFinder] = {}


def register_upserter(
    record_type: type, fn: Upserter, keys: KeyFinder | None = None
) -> None:
    _UPSERTERS[record_type] = fn
    if keys is not None:
        _KEY_FINDERS[record_type] = keys


class Ingestor:
    """Upserts for one company and (optionally) one integration."""

    _deferred: dict[type, list[dict[str, Any]]] | None

    def upsert(self, record: Any, *, defer: bool = False) -> Upserted:
        """Dispatch on the record's type (customers, products, or registered).

        Customers and products also record ``customer.created`` /
        ``product.updated`` style events in the same unit of work; registered
        upserters emit their own. ``defer``: the caller refers to the
        customer only from rows it defers too, so a new customer may be
        deferred (``upsert_customer``).
        """
        if isinstance(record, CustomerRecord):
            return self._emitted("customer", self.upsert_customer(record, defer=defer))
        if isinstance(record, ProductRecord):
            return self._emitted("product", self.upsert_product(record))
        fn = _UPSERTERS.get(type(record))
        if fn is None:
            raise TypeError(f"no upserter registered for {type(record).__name__}")
        return fn(self, record)

    def prefetch(self, records: Iterable[Any]) -> None:
        """Load, in a few queries, every row upserting ``records`` will look
        up (external ids, customers by phone and email, products by SKU).
        Optional: without it each lookup asks its own query."""
        keys = Keys()
        for record in records:
            if isinstance(record, CustomerRecord):
                keys.customer(record)
            elif isinstance(record, ProductRecord):
                keys.product(record)
            elif type(record) in _KEY_FINDERS:
                _KEY_FINDERS[type(record)](record, keys)
        if self.integration_id:
            for entity, ids in keys.external.items():
                self._preload_links(
                    self.integration_id, entity, ids, entity in keys.rows
                )
        # Customers we know by external id need no phone or email lookup.
        phones: set[str] = set()
        emails: set[str] = set()
        for record in keys.customers:
            if self._linked("customer", record.external_id):
                continue
            region = self.company.country
            for raw in (record.phone, *record.extra_phones):
                phone = normalise_phone(raw, region)
                if phone:
                    phones.add(phone)
            for raw in (record.email, *record.extra_emails):
                email = clean_email(raw)
                if email:
                    emails.add(email)
        self.customers.preload(phones=phones, emails=emails)
        self.products.preload(
            skus={
                sku
                for external_id, sku in keys.product_skus
                if not self._linked("product", external_id)
            }
        )

    def _preload_links(
        self, integration_id: uuid.UUID, entity: str, ids: set[str], rows: bool
    ) -> None:
        """Links with what they point at: customers as snapshots of the
        columns an upsert compares, products as rows when product records
        will be compared with them (``rows``)."""
        if entity == "customer":
            found = self.external.preload(
                integration_id, entity, ids, Customer, SNAPSHOT
            )
            for link, values in found:
                if values is None:  # the customer is gone: match by phone
                    self.customers.known(link.entity_id, None)
                else:
                    self._snapshots[link.entity_id] = Snapshot(link.entity_id, *values)
        elif entity == "product" and rows:
            for link, row in self.external.preload(
                integration_id, entity, ids, Product
            ):
                self.products.known(link.entity_id, row)
        else:
            self.external.preload(integration_id, entity, ids)

    def _linked(self, entity: str, external_id: str | None) -> bool:
        if not (external_id and self.integration_id):
            return False
        return self.external.find(self.integration_id, entity, external_id) is not None

    def forget(self) -> None:
        """Drop remembered lookups (call after a rolled-back savepoint)."""
        self.external.forget()
        self._snapshots.clear()
        self.customers.forget()
        self.products.forget()

    # deferred inserts ------------------------------------------------------
    @contextmanager
    def batched(self) -> Iterator[None]:
        """Within the block, upserters may ``defer`` the inserts of brand-new
        rows; they are written together, in one statement per table, when
        the block ends. Outside a block every write goes through the ORM."""
        self._deferred = {}
        self._event_templates.clear()
        self.written_at = utcnow()
        try:
            yield
            self.write_deferred()
        finally:
            self._deferred = None

    def defer(self, model: type, values: dict[str, Any], key: Any = None) -> bool:
        """Queue an insert; False when not batching (then write it now).
        ``key`` names what the row is, so ``is_deferred`` can tell."""
        if self._deferred is None:
            return False
        self._deferred.setdefault(model, []).append(values)
        if key is not None:
            self._deferred_keys.add(key)
        return True

    def defer_link(
        self,
        entity: str,
        external_id: str,
        entity_id: uuid.UUID,
        updated_at: datetime | None,
    ) -> Link:
        """Queue a new link; lookups see it (pending) until it is written."""
        assert self.integration_id is not None
        now = self.written_at
        link_id = new_id()
        row: dict[str, Any] = {
            "id": link_id,
            "company_id": self.company.id,
            "integration_id": self.integration_id,
            "entity": entity,
            "external_id": external_id,
            "entity_id": entity_id,
            "source_updated_at": updated_at,
            "created_at": now,
            "updated_at": now,
        }
        self.defer(ExternalId, row)
        link = Link(
            self.integration_id, entity, external_id, entity_id, updated_at, link_id
        )
        link.row = row
        self.external.remember(link)
        self._pending_links.append(link)
        return link

    def event_row(
        self, type_: str, entity: str, entity_id: uuid.UUID, data: dict[str, Any]
    ) -> dict[str, Any]:
        """An event row to ``defer``: the shape ``events.values`` gives, made
        once per type and batch (the batch's events share its time), with an
        ordered id."""
        template = self._event_templates.get(type_)
        if template is None:
            template = events.values(self.company.id, type_, entity=entity)
            self._event_templates[type_] = template
        return {**template, "id": new_id(), "entity_id": entity_id, "data": data}

    def is_deferred(self, key: Any) -> bool:
        return key in self._deferred_keys

    @property
    def batching(self) -> bool:
        return self._deferred is not None

    def write_deferred(self) -> None:
        """Write queued inserts now. Queued customers first (they refer to
        nothing and ORM rows may name them), then the ORM's own pending
        rows, then the rest, which may refer to either."""
        if not self._deferred:
            return
        first = self._deferred.pop(Customer, None)
        if first:
            deferred.write(self.session, Customer, first)
        self.session.flush()
        for model, rows in self._deferred.items():
            if rows:
                deferred.write(self.session, model, rows)
        self._deferred.clear()
        self._deferred_keys.clear()
        for link in self._pending_links:
            link.row = None  # written: a change now goes to the table
        self._pending_links.clear()
        self.customers.forget_pending()

    def _emitted(self, entity: str, result: Upserted) -> Upserted:
        if result.outcome is not Outcome.UNCHANGED and self._deferred is not None:
            self.defer(
                Event,
                self.event_row(
                    f"{entity}.{result.outcome.value}",
                    entity,
                    result.id,
                    {"source": self.source} if self.source else {},
                ),
            )
        elif result.outcome is not Outcome.UNCHANGED:
            events.emit(
                self.session,
                self.company.id,
                f"{entity}.{result.outcome.value}",
                entity=entity,
                entity_id=result.id,
                data={"source": self.source} if self.source else {},
            )
        return result

    def stale_link(
        self, entity: str, external_id: str | None, updated_at: datetime | None
    ) -> Link | None:
        """The link when the provider already gave us a newer version of this
        record (an out-of-order or retried delivery, promise W9), else None.
        The same version again is applied again, harmlessly: providers stamp
        in whole seconds, so two changes in one second look alike."""
        if not (external_id and updated_at and self.integration_id):
            return None
        link = self.external.find(self.integration_id, entity, external_id)
        if link is None or link.source_updated_at is None:
            return None
        return link if updated_at < link.source_updated_at else None

    def __init__(
        self,
        session: Session,
        company: Company,
        integration_id: uuid.UUID | None = None,
        source: str | None = None,
    ) -> None:
        self.session = session
        self.company = company
        self.integration_id = integration_id
        self.source = source
        self.customers = CustomerRepository(session, company.id)
        self.products = ProductRepository(session, company.id)
        self.external = ExternalIdRepository(session, company.id)
        self._snapshots: dict[uuid.UUID, Any] = {}
        self._deferred = None
        self._deferred_keys: set[Any] = set()
        self._event_templates: dict[str, dict[str, Any]] = {}
        self._pending_links: list[Link] = []
        self.written_at = utcnow()

    # customers -----------------------------------------------------------
    def _snapshot_of(self, record: CustomerRecord) -> Any:
        """The prefetched columns of the customer ``record`` is linked to,
        when the row itself is not loaded: an unchanged customer (most
        orders are from a returning one) needs no ORM object at all."""
        if not (record.external_id and self.integration_id and self._snapshots):
            return None
        link = self.external.find(self.integration_id, "customer", record.external_id)
        return self._snapshots.get(link.entity_id) if link is not None else None

    def match_customer(self, record: CustomerRecord) -> Customer | Pending | None:
        if record.external_id and self.integration_id:
            link = self.external.find(
                self.integration_id, "customer", record.external_id
            )
            if link is not None:
                found = self.customers.get(link.entity_id)
                if found is not None:
                    return found
        phone = normalise_phone(record.phone, self.company.country)
        if phone:
            found = self.customers.by_phone(phone)
            if found is not None:
                return found
        email = clean_email(record.email)
        if email:
            return self.customers.by_email(email)
        return None

    def upsert_customer(
        self, record: CustomerRecord, *, defer: bool = False
    ) -> Upserted:
        """``defer``: the caller refers to the customer only from rows it
        defers, so inside ``batched()`` a new one is queued too (a
        :class:`Pending` that later records of the batch match and change);
        otherwise a queued match is written first and loaded as a row."""
        stale = self.stale_link("customer", record.external_id, record.updated_at)
        if stale is not None:
            return Upserted(stale.entity_id, Outcome.UNCHANGED)
        phone = normalise_phone(record.phone, self.company.country)
        email = clean_email(record.email)
        values: dict[str, Any] = {
            "name": (record.name or "").strip()[:200] or phone or email or "Customer",
            "phone": phone,
            "email": email,
            "city": record.city,
            "address": record.address,
            "country": record.country,
            "notes": record.notes,
        }
        if record.balance_minor is not None:
            values["balance_minor"] = record.balance_minor
        # Extras are mostly the main number again (a customer's addresses):
        # those are left out before normalising.
        extra_phones = _cleaned(
            record.extra_phones, record.phone, normalise_phone, self.company.country
        )
        extra_emails = _cleaned(record.extra_emails, record.email, _clean_email)
        extras = (phone, email, extra_phones, extra_emails)
        snapshot = self._snapshot_of(record)
        if snapshot is not None:
            if not _customer_changes(snapshot, values, *extras):
                self._link("customer", record.external_id, snapshot.id, record)
                return Upserted(snapshot.id, Outcome.UNCHANGED)
            del self._snapshots[snapshot.id]  # the row itself changes now
        existing = self.match_customer(record)
        if isinstance(existing, Pending) and not defer:
            self.write_deferred()  # the caller's ORM row will refer to it
            existing = self.match_customer(record)
        customer: Customer | Pending
        if existing is None and defer and self._deferred is not None:
            customer = self._defer_customer(
                record,
                values,
                _merge([phone], extra_phones),
                _merge([email], extra_emails),
            )
            outcome = Outcome.CREATED
        elif existing is None:
            customer = self.customers.add(
                Customer(
                    id=new_id(),
                    currency=record.currency or self.company.currency,
                    source=self.source,
                    phones=_merge([phone], extra_phones),
                    emails=_merge([email], extra_emails),
                    **values,
                )
            )
            outcome = Outcome.CREATED
        else:
            customer = existing
            changes = _customer_changes(customer, values, *extras)
            for key, value in changes.items():
                setattr(customer, key, value)
            outcome = Outcome.UPDATED if changes else Outcome.UNCHANGED
        # The row is loaded now (and may have changed through another
        # record's phone or email): it, not its snapshot, is compared next.
        self._snapshots.pop(customer.id, None)
        self.customers.remember(customer)
        self._link("customer", record.external_id, customer.id, record)
        return Upserted(customer.id, outcome)

    def _defer_customer(
        self,
        record: CustomerRecord,
        values: dict[str, Any],
        phones: list[str],
        emails: list[str],
    ) -> Pending:
        assert self._deferred is not None
        now = self.written_at
        row = {
            "id": new_id(),
            "company_id": self.company.id,
            "created_at": now,
            "updated_at": now,
            "balance_minor": 0,
            **values,
            "currency": record.currency or self.company.currency,
            "source": self.source,
            "phones": phones,
            "emails": emails,
            "merged_into_id": None,
            "deleted_at": None,
        }
        self.defer(Customer, row, key=("customer", row["id"]))
        return Pending(row)

    # products ------------------------------------------------------------
    def upsert_product(self, record: ProductRecord) -> Upserted:
        stale = self.stale_link("product", record.external_id, record.updated_at)
        if stale is not None:
            return Upserted(stale.entity_id, Outcome.UNCHANGED)
        existing: Product | None = None
        if record.external_id and self.integration_id:
            link = self.external.find(
                self.integration_id, "product", record.external_id
            )
            if link is not None:
                existing = self.products.get(link.entity_id)
        sku = (record.sku or "").strip() or None
        if existing is None and sku:
            existing = self.products.by_sku(sku)
        values: dict[str, Any] = {
            "name": record.name.strip()[:300] or sku or "Product",
            "sku": sku,
            "price_minor": record.price_minor,
            "cost_minor": record.cost_minor,
            "stock_qty": record.stock_qty,
            "reorder_level": record.reorder_level,
            "category": record.category,
            "barcode": record.barcode,
            "description": record.description,
            "active": record.active,
        }
        if existing is None:
            product = self.products.add(
                Product(
                    id=new_id(),
                    currency=record.currency or self.company.currency,
                    source=self.source,
                    **{k: v for k, v in values.items() if v is not None},
                )
            )
            if product.price_minor is None:
                product.price_minor = 0
            outcome = Outcome.CREATED
        else:
            product = existing
            if sku and existing.sku and existing.sku != sku:
                values.pop("sku")
            changed = apply_values(
                product, {k: v for k, v in values.items() if v is not None}
            )
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        self.products.remember(product)
        self._link("product", record.external_id, product.id, record)
        return Upserted(product.id, outcome)

    def _link(
        self, entity: str, external_id: str | None, entity_id: uuid.UUID, record: Any
    ) -> None:
        if not (external_id and self.integration_id):
            return
        updated_at = getattr(record, "updated_at", None)
        found = self.external.find(self.integration_id, entity, external_id)
        if (
            found is not None
            and found.entity_id == entity_id
            and (updated_at is None or updated_at == found.source_updated_at)
        ):
            return  # already so (a returning customer, most orders)
        if found is None and self._deferred is not None:
            self.defer_link(entity, external_id, entity_id, updated_at)
        else:
            self.external.link(
                self.integration_id, entity, external_id, entity_id, updated_at
            )


# What ``prefetch`` reads of a linked customer to tell whether it changed
# (the name first: never NULL in a row, so a NULL says the row is gone).
SNAPSHOT = (
    Customer.name,
    Customer.phone,
    Customer.email,
    Customer.city,
    Customer.address,
    Customer.country,
    Customer.notes,
    Customer.balance_minor,
    Customer.phones,
    Customer.emails,
)


class Snapshot(NamedTuple):
    """A linked customer's columns as ``prefetch`` read them."""

    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None
    city: str | None
    address: str | None
    country: str | None
    notes: str | None
    balance_minor: int
    phones: list[str]
    emails: list[str]


def _customer_changes(
    current: Any,
    values: dict[str, Any],
    phone: str | None,
    email: str | None,
    extra_phones: list[str],
    extra_emails: list[str],
) -> dict[str, Any]:
    """What upserting a record changes on ``current`` (a customer row or
    its snapshot): what we know is kept when the record is silent, and a
    second phone or email becomes an extra one."""
    changes = {}
    for key, value in values.items():
        if value is None or value == "":
            continue  # the record is silent: keep ours
        now = getattr(current, key)
        if now == value:
            continue
        if key in ("phone", "email") and now:
            continue  # a second number or address: an extra one, below
        changes[key] = value
    phones, emails = current.phones, current.emails
    if (phone and phone not in phones) or any(p not in phones for p in extra_phones):
        changes["phones"] = _merge(phones, [phone], extra_phones)
    if (email and email not in emails) or any(e not in emails for e in extra_emails):
        changes["emails"] = _merge(emails, [email], extra_emails)
    return changes


def _cleaned(
    extras: list[str], main: str | None, clean: Callable[..., str | None], *args: Any
) -> list[str]:
    """``extras`` cleaned, without the ones that are ``main`` as written."""
    out = []
    for raw in extras:
        if raw != main:
            value = clean(raw, *args)
            if value:
                out.append(value)
    return out


def clean_email(value: str | None) -> str | None:
    if not value:
        return None
    return _clean_email(value)


@lru_cache(maxsize=65536)  # a returning customer's address recurs on every order
def _clean_email(value: str) -> str | None:
    email = value.strip().lower()
    return email if "@" in email and "." in email.split("@")[-1] else None


def apply_values(row: Any, values: dict[str, Any]) -> bool:
    """Set each value that differs; True when anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _merge(*lists: list[str | None] | list[str]) -> list[str]:
    out: list[str] = []
    for items in lists:
        for item in items:
            if item and item not in out:
                out.append(item)
    return out
