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
        """Match every live row of the batch, merge, then write in bulk.

        A row that matches nothing becomes a new record that is only its row
        number until a later row of the batch merges into it, so the usual
        case (a new customer per row) costs a few dictionary probes and the
        insert is built column by column from the cleaned columns.
        """
        ctx, out = self.ctx, Written("customer")
        cols = {f: batch.column(f) for f in ROW_FIELDS}
        live = batch.live()
        recs: list[dict[str, Any] | None] = []
        index: dict[str, dict[str, int]] = {
            k: {} for k in ("external_id", "phone", "email")
        }
        originals: dict[int, Any] = {}
        self._load(cols, live, recs, index, originals)
        by_phone, by_email, by_ext = (
            index["phone"],
            index["email"],
            index["external_id"],
        )
        order = [(cols[k], index[k]) for k in self.order]
        phones, emails, exts = cols["phone"], cols["email"], cols["external_id"]
        first_new = len(recs)
        source: list[int] = []  # new record n - first_new was made from this row
        touched: set[int] = set()
        wanted: dict[str, int] = {}
        for i in live:
            hit = None
            for column, keyed in order:
                value = column[i]
                if value:
                    hit = keyed.get(value)
                    if hit is not None:
                        break
            if hit is None:
                hit = len(recs)
                recs.append(None)
                source.append(i)
                phone, email = phones[i], emails[i]
            else:
                if not self._accept_duplicate(batch, i, originals.get(hit), out):
                    continue
                record = recs[hit]
                if record is None:
                    record = recs[hit] = self._record(
                        batch, cols, source[hit - first_new]
                    )
                _update(record, cols, i)
                if hit in touched or hit >= first_new:
                    out.unchanged += 1  # merged into a record this batch has
                touched.add(hit)
                phone, email = record["phone"], record["email"]
            if phone and phone not in by_phone:
                by_phone[phone] = hit
            if email and email not in by_email:
                by_email[email] = hit
            ext = exts[i]
            if ext:
                by_ext.setdefault(ext, hit)
                wanted[ext] = hit
        out.created = len(source)
        ids = bulk.new_hex_ids(len(source))
        self._flush(batch, cols, source, recs, first_new, ids, originals, touched, out)
        if ctx.keys is not None:
            ctx.keys.add_all(by_phone)
            ctx.keys.add_all(by_email)
        links: dict[str, uuid.UUID] = {}
        for ext, n in wanted.items():
            existing = recs[n] if n < first_new else None
            links[ext] = existing["id"] if existing else uuid.UUID(ids[n - first_new])
        out.links = save_links(ctx, "customer", links, self._links)
        return out

    def _record(
        self, batch: CleanBatch, cols: dict[str, list[Any]], i: int
    ) -> dict[str, Any]:
        """A new record as a dict, for a later row of the batch to merge into."""
        return _create(cols, i, batch.currencies[i] or self.ctx.company.currency)

    def _load(
        self,
        cols: dict[str, list[Any]],
        live: list[int],
        recs: list[dict[str, Any] | None],
        index: dict[str, dict[str, int]],
        originals: dict[int, Any],
    ) -> None:
        """Existing customers any live row may match, registered first (so
        the CRM's records win over this batch's new ones)."""
        ctx = self.ctx
        keys = ctx.keys
        session, company = ctx.session, ctx.company.id
        found: dict[uuid.UUID, Any] = {}
        base = (Customer.company_id == company, Customer.deleted_at.is_(None))
        for key in ("phone", "email"):
            if key not in self.order:
                continue
            column = cols[key]
            present = [column[i] for i in live if column[i]]
            wanted = present if keys is None else keys.may_hold(present)
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
        by_phone, by_email = index["phone"], index["email"]
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
                by_phone.setdefault(record["phone"], n)
            if record["email"]:
                by_email.setdefault(record["email"], n)
        for ext, eid in self._links.items():
            if eid in position:
                index["external_id"][ext] = position[eid]

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
        batch: CleanBatch,
        cols: dict[str, list[Any]],
        source: list[int],
        recs: list[dict[str, Any] | None],
        first_new: int,
        ids: list[str],
        originals: dict[int, Any],
        touched: set[int],
        out: Written,
    ) -> None:
        ctx = self.ctx
        now = utcnow()
        if source:
            columns = _new_columns(cols, source, batch.currencies, ctx.company.currency)
            for n in range(first_new, len(recs)):
                record = recs[n]
                if record is not None:  # merged with later rows of the batch
                    at = n - first_new
                    for name in INSERTED[1:]:
                        columns[name][at] = record[name]
                    columns["phones"][at] = bulk.json_list(record["phones"])
                    columns["emails"][at] = bulk.json_list(record["emails"])
            columns["id"] = ids
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
                prepared=frozenset({"id", "phones", "emails"}),
            )
            out.created_ids = ids
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for n, original in originals.items():
            record = recs[n]
            assert record is not None
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
    phone, email = cols["phone"][i], cols["email"][i]
    balance = cols["balance_minor"][i]
    return {
        "name": _name(cols["name"][i], phone, email),
        "phone": phone,
        "email": email,
        "phones": _phones(phone, cols["phone2"][i]),
        "emails": [email] if email else [],
        "city": cols["city"][i],
        "address": cols["address"][i],
        "country": cols["country"][i],
        "notes": cols["notes"][i],
        "balance_minor": balance or 0,
        "currency": currency,
    }


def _name(name: str | None, phone: str | None, email: str | None) -> str:
    return (name or "")[:200] or phone or email or "Customer"


def _new_columns(
    cols: dict[str, list[Any]], rows: list[int], currencies: list[str], default: str
) -> dict[str, list[Any]]:
    """The insert's columns for records made from one row each: what
    :func:`_create` gives, a column at a time."""
    phone, email, phone2 = cols["phone"], cols["email"], cols["phone2"]
    name = cols["name"]
    out = {
        "name": [_name(name[i], phone[i], email[i]) for i in rows],
        "phone": [phone[i] for i in rows],
        "email": [email[i] for i in rows],
        "emails": bulk.json_singles([email[i] for i in rows]),
    }
    if any(phone2):
        out["phones"] = [bulk.json_list(_phones(phone[i], phone2[i])) for i in rows]
    else:
        out["phones"] = bulk.json_singles(out["phone"])
    for f in SIMPLE:
        column = cols[f]
        out[f] = [column[i] for i in rows]
    out["balance_minor"] = [b or 0 for b in out["balance_minor"]]
    out["currency"] = [currencies[i] or default for i in rows]
    return out


def _phones(phone: str | None, phone2: str | None) -> list[str]:
    phones = [phone] if phone else []
    if phone2 and phone2 != phone:
        phones.append(phone2)
    return phones


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
