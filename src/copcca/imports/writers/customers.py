"""Customers, a batch at a time, matched like :class:`Ingestor` does: the
file's own id (external id), then phone in E.164, then email, in the order
the company's deduplication rule gives. A record the batch already created
is matched too, so a customer listed twice becomes one customer.

One deliberate difference from ``Ingestor``: a row without a name does not
overwrite an existing customer's name with its phone number.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.validation import SKIP
from copcca.imports.writers.base import (
    CleanBatch,
    WriteContext,
    Written,
    load_links,
    match_order,
    merge_lists,
    save_links,
)
from copcca.models.crm import Customer

TABLE = cast(Table, Customer.__table__)
FIELDS = (
    "name",
    "phone",
    "email",
    "city",
    "address",
    "country",
    "notes",
    "balance_minor",
)
LOADED = (
    Customer.id,
    Customer.created_at,
    Customer.phones,
    Customer.emails,
    *tuple(getattr(Customer, f) for f in FIELDS),
)
SIMPLE = ("city", "address", "country", "notes", "balance_minor")


class CustomerWriter:
    entity = "customer"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.order = match_order(
            ctx.session, ctx.company.id, "customer", ("external_id", "phone", "email")
        )

    def write(self, batch: CleanBatch) -> Written:
        ctx, out = self.ctx, Written("customer")
        rows = _rows(batch)
        live = batch.live()
        index, originals, state = self._load(rows, live)
        links = load_links(ctx, "customer", [rows[i]["external_id"] for i in live])
        self._extra_load(list(links.values()), originals, state)
        wanted_links: dict[str, uuid.UUID] = {}
        new: list[uuid.UUID] = []
        fresh_ids = iter(bulk.new_ids(len(live)))
        touched: set[uuid.UUID] = set()
        for i in live:
            row = rows[i]
            found = self._match(row, index, links, state)
            if found is None:
                record = _create(row, batch.currencies[i] or ctx.company.currency)
                record["id"] = next(fresh_ids)
                found = record["id"]
                state[found] = record
                new.append(found)
                out.created += 1
            else:
                if not self._accept_duplicate(batch, i, found, originals, out):
                    continue
                _update(state[found], row)
                if found in touched or found not in originals:
                    out.unchanged += 1  # merged into a record this batch has
                touched.add(found)
            self._register(index, state[found])
            if row["external_id"]:
                index.setdefault(("x", row["external_id"]), found)
                wanted_links[row["external_id"]] = found
        self._flush(new, state, originals, out, touched)
        out.links = save_links(ctx, "customer", wanted_links, links)
        return out

    def _load(
        self, rows: list[dict[str, Any]], live: list[int]
    ) -> tuple[
        dict[tuple[str, str], uuid.UUID],
        dict[uuid.UUID, Any],
        dict[uuid.UUID, dict[str, Any]],
    ]:
        session, company = self.ctx.session, self.ctx.company.id
        found: dict[uuid.UUID, Any] = {}
        base = (Customer.company_id == company, Customer.deleted_at.is_(None))
        for key in ("phone", "email"):
            if key in self.order:
                column = getattr(Customer, key)
                keys = [rows[i][key] for i in live]
                for row in bulk.select_in(session, LOADED, column, keys, *base):
                    found[row.id] = row
        ordered = sorted(found.values(), key=lambda r: (r.created_at, str(r.id)))
        index: dict[tuple[str, str], uuid.UUID] = {}
        state: dict[uuid.UUID, dict[str, Any]] = {}
        for row in ordered:
            record = {f: getattr(row, f) for f in FIELDS}
            record.update(
                id=row.id, phones=list(row.phones or []), emails=list(row.emails or [])
            )
            state[row.id] = record
            self._register(index, record)
        return index, {r.id: r for r in ordered}, state

    def _extra_load(
        self,
        ids: list[uuid.UUID],
        originals: dict[uuid.UUID, Any],
        state: dict[uuid.UUID, dict[str, Any]],
    ) -> None:
        missing = [i for i in ids if i not in state]
        for row in bulk.select_in(
            self.ctx.session,
            LOADED,
            Customer.id,
            missing,
            Customer.company_id == self.ctx.company.id,
        ):
            originals[row.id] = row
            record = {f: getattr(row, f) for f in FIELDS}
            record.update(
                id=row.id, phones=list(row.phones or []), emails=list(row.emails or [])
            )
            state[row.id] = record

    def _match(
        self,
        row: dict[str, Any],
        index: dict[tuple[str, str], uuid.UUID],
        links: dict[str, uuid.UUID],
        state: dict[uuid.UUID, dict[str, Any]],
    ) -> uuid.UUID | None:
        for key in self.order:
            value = row.get(key)
            if not value:
                continue
            if key == "external_id":
                hit = index.get(("x", value)) or links.get(value)
            else:
                hit = index.get((key[0], value))
            if hit is not None and hit in state:
                return hit
        return None

    def _accept_duplicate(
        self,
        batch: CleanBatch,
        i: int,
        found: uuid.UUID,
        originals: dict[uuid.UUID, Any],
        out: Written,
    ) -> bool:
        original = originals.get(found)
        existing = original is not None and original.created_at < self.ctx.started_at
        code = "duplicate_existing" if existing else "duplicate_in_file"
        batch.problems.add(i, None, code, None)
        if self.ctx.choice(code) == SKIP:
            out.skipped += 1
            return False
        return True

    @staticmethod
    def _register(
        index: dict[tuple[str, str], uuid.UUID], record: dict[str, Any]
    ) -> None:
        if record["phone"]:
            index.setdefault(("p", record["phone"]), record["id"])
        if record["email"]:
            index.setdefault(("e", record["email"]), record["id"])

    def _flush(
        self,
        new: list[uuid.UUID],
        state: dict[uuid.UUID, dict[str, Any]],
        originals: dict[uuid.UUID, Any],
        out: Written,
        touched: set[uuid.UUID],
    ) -> None:
        ctx = self.ctx
        now = utcnow()
        if new:
            records = [state[i] for i in new]
            columns: dict[str, list[Any]] = {
                name: [r[name] for r in records]
                for name in (
                    "id",
                    "name",
                    "phone",
                    "email",
                    "phones",
                    "emails",
                    "city",
                    "address",
                    "country",
                    "notes",
                    "balance_minor",
                    "currency",
                )
            }
            columns["phones"] = [bulk.json_list(p) for p in columns["phones"]]
            columns["emails"] = [bulk.json_list(e) for e in columns["emails"]]
            bulk.insert_rows(
                ctx.session,
                TABLE,
                columns,
                {
                    "company_id": ctx.company.id,
                    "source": "import",
                    "created_at": now,
                    "updated_at": now,
                },
                prepared=frozenset({"phones", "emails"}),
            )
            out.created_ids = [str(i) for i in new]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for cid, original in originals.items():
            record = state[cid]
            before = {
                f: _plain(getattr(original, f))
                for f in (*FIELDS, "phones", "emails")
                if getattr(original, f) != record[f]
            }
            if not before:
                out.unchanged += cid in touched
                continue
            out.updated += 1
            after = {f: _plain(record[f]) for f in before}
            out.updates.append({"id": str(cid), "before": before, "after": after})
            row = {f: record[f] for f in before}
            row.update(id=cid, updated_at=now)
            groups.setdefault(tuple(sorted(before)), []).append(row)
        for names, rows in groups.items():
            bulk.update_rows(
                ctx.session, TABLE, [*names, "updated_at"], rows, ctx.company.id
            )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _rows(batch: CleanBatch) -> list[dict[str, Any]]:
    names = batch.column("name")
    phones = batch.column("phone")
    phones2 = batch.column("phone2")
    emails = batch.column("email")
    balance = batch.column("balance_minor")
    simple = {
        f: batch.column(f)
        for f in ("city", "address", "country", "notes", "external_id")
    }
    return [
        {
            "name": names[i],
            "phone": phones[i],
            "phone2": phones2[i],
            "email": emails[i],
            "balance_minor": balance[i],
            **{f: col[i] for f, col in simple.items()},
        }
        for i in range(batch.size)
    ]


def _create(row: dict[str, Any], currency: str) -> dict[str, Any]:
    phone, email, phone2 = row["phone"], row["email"], row["phone2"]
    phones = [phone] if phone else []
    if phone2 and phone2 != phone:
        phones.append(phone2)
    return {
        "name": (row["name"] or "")[:200] or phone or email or "Customer",
        "phone": phone,
        "email": email,
        "phones": phones,
        "emails": [email] if email else [],
        "city": row["city"],
        "address": row["address"],
        "country": row["country"],
        "notes": row["notes"],
        "balance_minor": row["balance_minor"] or 0,
        "currency": currency,
    }


def _update(record: dict[str, Any], row: dict[str, Any]) -> bool:
    """Ingestor's rules: keep what we know when the row is silent; a second
    phone or email becomes an extra one."""
    before = (
        record["name"],
        record["phone"],
        record["email"],
        *(record[f] for f in SIMPLE),
        tuple(record["phones"]),
        tuple(record["emails"]),
    )
    if row["name"]:
        record["name"] = row["name"][:200]
    if row["phone"] and not record["phone"]:
        record["phone"] = row["phone"]
    if row["email"] and not record["email"]:
        record["email"] = row["email"]
    for f in SIMPLE:
        if row[f] not in (None, ""):
            record[f] = row[f]
    record["phones"] = merge_lists(record["phones"], [row["phone"], row["phone2"]])
    record["emails"] = merge_lists(record["emails"], [row["email"]])
    after = (
        record["name"],
        record["phone"],
        record["email"],
        *(record[f] for f in SIMPLE),
        tuple(record["phones"]),
        tuple(record["emails"]),
    )
    return before != after
