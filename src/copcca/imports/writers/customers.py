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
        """Match every live row of the batch, merge, then write in bulk."""
        ctx, out = self.ctx, Written("customer")
        cols = {f: batch.column(f) for f in ROW_FIELDS}
        live = batch.live()
        recs: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        originals: dict[int, Any] = {}
        self._load(cols, live, recs, index, originals)
        prefixes = {"external_id": "x", "phone": "p", "email": "e"}
        order = [(cols[k], prefixes[k]) for k in self.order]
        first_new = len(recs)
        touched: set[int] = set()
        wanted: dict[str, int] = {}
        currencies, default = batch.currencies, ctx.company.currency
        for i in live:
            hit = None
            for column, prefix in order:
                value = column[i]
                if value:
                    hit = index.get(prefix + value)
                    if hit is not None:
                        break
            if hit is None:
                hit = len(recs)
                recs.append(_create(cols, i, currencies[i] or default))
                out.created += 1
            else:
                if not self._accept_duplicate(batch, i, originals.get(hit), out):
                    continue
                _update(recs[hit], cols, i)
                if hit in touched or hit >= first_new:
                    out.unchanged += 1  # merged into a record this batch has
                touched.add(hit)
            record = recs[hit]
            if record["phone"] and "p" + record["phone"] not in index:
                index["p" + record["phone"]] = hit
            if record["email"] and "e" + record["email"] not in index:
                index["e" + record["email"]] = hit
            ext = cols["external_id"][i]
            if ext:
                index.setdefault("x" + ext, hit)
                wanted[ext] = hit
        ids = bulk.new_ids(len(recs) - first_new)
        for offset, record in enumerate(recs[first_new:]):
            record["id"] = ids[offset]
        self._flush(recs[first_new:], recs, originals, touched, out)
        if ctx.keys is not None:
            add = ctx.keys.add
            for record in recs:
                if record["phone"]:
                    add("p" + record["phone"])
                if record["email"]:
                    add("e" + record["email"])
        links = {ext: recs[n]["id"] for ext, n in wanted.items()}
        out.links = save_links(ctx, "customer", links, self._links)
        return out

    def _load(
        self,
        cols: dict[str, list[Any]],
        live: list[int],
        recs: list[dict[str, Any]],
        index: dict[str, int],
        originals: dict[int, Any],
    ) -> None:
        """Existing customers any live row may match, registered first (so
        the CRM's records win over this batch's new ones)."""
        ctx = self.ctx
        keys = ctx.keys
        session, company = ctx.session, ctx.company.id
        found: dict[uuid.UUID, Any] = {}
        base = (Customer.company_id == company, Customer.deleted_at.is_(None))
        for key, prefix in (("phone", "p"), ("email", "e")):
            if key not in self.order:
                continue
            column = cols[key]
            wanted = [
                column[i]
                for i in live
                if column[i] and (keys is None or prefix + column[i] in keys)
            ]
            for row in bulk.select_in(
                session, LOADED, getattr(Customer, key), wanted, *base
            ):
                found[row.id] = row
        self._links = load_links(
            ctx, "customer", [cols["external_id"][i] for i in live]
        )
        linked = [v for v in self._links.values() if v not in found]
        for row in bulk.select_in(
            session, LOADED, Customer.id, linked, Customer.company_id == company
        ):
            found[row.id] = row
        position: dict[uuid.UUID, int] = {}
        for row in sorted(found.values(), key=lambda r: (r.created_at, str(r.id))):
            record = {f: getattr(row, f) for f in FIELDS}
            record.update(
                id=row.id, phones=list(row.phones or []), emails=list(row.emails or [])
            )
            n = len(recs)
            recs.append(record)
            originals[n] = row
            position[row.id] = n
            if record["phone"]:
                index.setdefault("p" + record["phone"], n)
            if record["email"]:
                index.setdefault("e" + record["email"], n)
        for ext, eid in self._links.items():
            if eid in position:
                index["x" + ext] = position[eid]

    def _accept_duplicate(
        self, batch: CleanBatch, i: int, original: Any, out: Written
    ) -> bool:
        existing = original is not None and original.created_at < self.ctx.started_at
        code = "duplicate_existing" if existing else "duplicate_in_file"
        batch.problems.add(i, None, code, None)
        if self.ctx.choice(code) == SKIP:
            out.skipped += 1
            return False
        return True

    def _flush(
        self,
        new: list[dict[str, Any]],
        recs: list[dict[str, Any]],
        originals: dict[int, Any],
        touched: set[int],
        out: Written,
    ) -> None:
        ctx = self.ctx
        now = utcnow()
        if new:
            columns: dict[str, list[Any]] = {
                name: [r[name] for r in new] for name in INSERTED
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
            out.created_ids = [i.hex for i in columns["id"]]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for n, original in originals.items():
            record = recs[n]
            before = {
                f: _plain(getattr(original, f))
                for f in (*FIELDS, "phones", "emails")
                if getattr(original, f) != record[f]
            }
            if not before:
                out.unchanged += n in touched
                continue
            out.updated += 1
            after = {f: _plain(record[f]) for f in before}
            out.updates.append(
                {"id": str(original.id), "before": before, "after": after}
            )
            row = {f: record[f] for f in before}
            row.update(id=original.id, updated_at=now)
            groups.setdefault(tuple(sorted(before)), []).append(row)
        for names, rows in groups.items():
            bulk.update_rows(
                ctx.session, TABLE, [*names, "updated_at"], rows, ctx.company.id
            )


ROW_FIELDS = (
    "name",
    "phone",
    "phone2",
    "email",
    "city",
    "address",
    "country",
    "notes",
    "balance_minor",
    "external_id",
)
INSERTED = (
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


def _create(cols: dict[str, list[Any]], i: int, currency: str) -> dict[str, Any]:
    phone, email, phone2 = cols["phone"][i], cols["email"][i], cols["phone2"][i]
    phones = [phone] if phone else []
    if phone2 and phone2 != phone:
        phones.append(phone2)
    balance = cols["balance_minor"][i]
    return {
        "name": (cols["name"][i] or "")[:200] or phone or email or "Customer",
        "phone": phone,
        "email": email,
        "phones": phones,
        "emails": [email] if email else [],
        "city": cols["city"][i],
        "address": cols["address"][i],
        "country": cols["country"][i],
        "notes": cols["notes"][i],
        "balance_minor": balance or 0,
        "currency": currency,
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _update(record: dict[str, Any], cols: dict[str, list[Any]], i: int) -> bool:
    """Ingestor's rules: keep what we know when the row is silent; a second
    phone or email becomes an extra one."""
    row = {f: cols[f][i] for f in ROW_FIELDS}
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
