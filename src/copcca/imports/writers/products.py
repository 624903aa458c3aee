"""Products (with stock and reorder level), matched like ``Ingestor``: the
file's own id, then SKU (a SKU is unique per company, so it is always used),
and the barcode or name when the company's deduplication rule says so."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, func

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.validation import SKIP
from copcca.imports.writers.base import (
    CleanBatch,
    WriteContext,
    Written,
    load_links,
    match_order,
    save_links,
)
from copcca.models.crm import Product

TABLE = cast(Table, Product.__table__)
FIELDS = (
    "name",
    "sku",
    "price_minor",
    "cost_minor",
    "stock_qty",
    "reorder_level",
    "category",
    "barcode",
    "description",
)
LOADED = (Product.id, Product.created_at, *tuple(getattr(Product, f) for f in FIELDS))
ROW_FIELDS = {
    "stock": "stock_qty",
    "price_minor": "price_minor",
    "cost_minor": "cost_minor",
    "reorder_level": "reorder_level",
    "category": "category",
    "barcode": "barcode",
    "description": "description",
    "name": "name",
    "sku": "sku",
    "external_id": "external_id",
}


def find_products(
    ctx: WriteContext, skus: list[Any], names: list[Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Existing products by SKU and by lower-cased name."""
    base = (Product.company_id == ctx.company.id,)
    by_sku = {
        r.sku: r for r in bulk.select_in(ctx.session, LOADED, Product.sku, skus, *base)
    }
    lowered = [n.lower() for n in names if n]
    by_name: dict[str, Any] = {}
    rows = bulk.select_in(ctx.session, LOADED, func.lower(Product.name), lowered, *base)
    for r in sorted(rows, key=lambda r: (r.created_at, str(r.id))):
        by_name.setdefault(r.name.lower(), r)
    return by_sku, by_name


class ProductWriter:
    entity = "product"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        order = match_order(
            ctx.session,
            ctx.company.id,
            "product",
            ("external_id", "sku", "barcode", "name"),
            default=("external_id", "sku"),
        )
        if "sku" not in order:  # a SKU is unique per company: always match it
            order.append("sku")
        self.order = order

    def write(self, batch: CleanBatch) -> Written:
        ctx, out = self.ctx, Written("product")
        rows = _rows(batch)
        live = batch.live()
        by_sku, by_name = find_products(
            ctx, [rows[i]["sku"] for i in live], [rows[i]["name"] for i in live]
        )
        links = load_links(ctx, "product", [rows[i]["external_id"] for i in live])
        originals: dict[uuid.UUID, Any] = {}
        for r in (*by_sku.values(), *by_name.values()):
            originals[r.id] = r
        for r in bulk.select_in(
            ctx.session,
            LOADED,
            Product.id,
            [v for v in links.values() if v not in originals],
            Product.company_id == ctx.company.id,
        ):
            originals[r.id] = r
        state = {
            pid: {f: getattr(r, f) for f in FIELDS} | {"id": pid}
            for pid, r in originals.items()
        }
        index: dict[tuple[str, str], uuid.UUID] = {}
        for record in state.values():
            _register(index, record)
        new: list[uuid.UUID] = []
        touched: set[uuid.UUID] = set()
        wanted: dict[str, uuid.UUID] = {}
        for i in live:
            row = rows[i]
            found = self._match(row, index, links, state)
            if found is None:
                record = _create(row, batch.currencies[i], ctx.company.currency)
                found = record["id"]
                state[found] = record
                new.append(found)
                out.created += 1
            else:
                original = originals.get(found)
                existing = original is not None and original.created_at < ctx.started_at
                code = "duplicate_existing" if existing else "duplicate_in_file"
                batch.problems.add(i, None, code, None)
                if ctx.choice(code) == SKIP:
                    out.skipped += 1
                    continue
                _update(state[found], row)
                if found in touched or found not in originals:
                    out.unchanged += 1  # merged into a record this batch has
                touched.add(found)
            _register(index, state[found])
            if row["external_id"]:
                index.setdefault(("x", row["external_id"]), found)
                wanted[row["external_id"]] = found
        flush_products(ctx, new, state, originals, out, touched)
        out.links = save_links(ctx, "product", wanted, links)
        return out

    def _match(
        self,
        row: dict[str, Any],
        index: dict[tuple[str, str], uuid.UUID],
        links: dict[str, uuid.UUID],
        state: dict[uuid.UUID, Any],
    ) -> uuid.UUID | None:
        for key in self.order:
            value = row.get(key)
            if not value:
                continue
            if key == "external_id":
                hit = index.get(("x", value)) or links.get(value)
            elif key == "name":
                hit = index.get(("n", value.lower()))
            else:
                hit = index.get((key, value))
            if hit is not None and hit in state:
                return hit
        return None


def _register(index: dict[tuple[str, str], uuid.UUID], record: dict[str, Any]) -> None:
    if record.get("sku"):
        index.setdefault(("sku", record["sku"]), record["id"])
    if record.get("barcode"):
        index.setdefault(("barcode", record["barcode"]), record["id"])
    if record.get("name"):
        index.setdefault(("n", record["name"].lower()), record["id"])


def _rows(batch: CleanBatch) -> list[dict[str, Any]]:
    columns = {key: batch.column(name) for name, key in ROW_FIELDS.items()}
    return [{k: col[i] for k, col in columns.items()} for i in range(batch.size)]


def _create(
    row: dict[str, Any], currency: str, company_currency: str
) -> dict[str, Any]:
    record = {f: row.get(f) for f in FIELDS}
    record["name"] = (row["name"] or "")[:300] or row["sku"] or "Product"
    record["price_minor"] = row["price_minor"] if row["price_minor"] is not None else 0
    record["id"] = uuid.uuid4()
    record["currency"] = currency or company_currency
    return record


def _update(record: dict[str, Any], row: dict[str, Any]) -> bool:
    before = tuple(record[f] for f in FIELDS)
    for f in FIELDS:
        value = row.get(f)
        if value is None or (f == "name" and not value):
            continue
        if f == "sku" and record["sku"] and record["sku"] != value:
            continue
        record[f] = value
    return before != tuple(record[f] for f in FIELDS)


def flush_products(
    ctx: WriteContext,
    new: list[uuid.UUID],
    state: dict[uuid.UUID, dict[str, Any]],
    originals: dict[uuid.UUID, Any],
    out: Written,
    touched: set[uuid.UUID] | None = None,
) -> None:
    """Insert created products, update changed ones, note both for undo."""
    now = utcnow()
    if new:
        records = [state[i] for i in new]
        names = ("id", *FIELDS, "currency")
        bulk.insert_rows(
            ctx.session,
            TABLE,
            {n: [r[n] for r in records] for n in names},
            {
                "company_id": ctx.company.id,
                "source": "import",
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
        )
        out.created_ids.extend(str(i) for i in new)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for pid, original in originals.items():
        record = state[pid]
        before = {
            f: getattr(original, f) for f in FIELDS if getattr(original, f) != record[f]
        }
        if not before:
            out.unchanged += touched is not None and pid in touched
            continue
        out.updated += touched is not None
        out.updates.append(
            {"id": str(pid), "before": before, "after": {f: record[f] for f in before}}
        )
        row = {f: record[f] for f in before}
        row.update(id=pid, updated_at=now)
        groups.setdefault(tuple(sorted(before)), []).append(row)
    for names_, rows in groups.items():
        bulk.update_rows(
            ctx.session, TABLE, [*names_, "updated_at"], rows, ctx.company.id
        )
