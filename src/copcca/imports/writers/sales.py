"""Sales: rows sharing a receipt number are the lines of one sale.

Imports have no integration, so a sale cannot be keyed by (company,
integration, external id) as synced orders are. Its receipt number is kept
in ``import_links`` under one company-wide scope (``SCOPE``): the same
receipt imported again, from any file, is the same sale (ADR 0009). A row
without a receipt number is a one-line sale keyed by its file and row.

Lines are matched within their sale by product (``sku`` or name, with
``#2``, ``#3`` for the same product again), updated in place, never deleted
by an import: a receipt split over two files keeps both halves. The sale's
totals are the sum of its lines.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.validation import SKIP
from copcca.imports.writers.base import (
    CleanBatch,
    WriteContext,
    Written,
    change,
    load_links,
    save_links,
)
from copcca.imports.writers.linked import customers_for, products_for
from copcca.models.crm import Sale, SaleLine, SaleStatus

SCOPE = "sales:receipt"
SALES = cast(Table, Sale.__table__)
LINES = cast(Table, SaleLine.__table__)
SALE_FIELDS = ("number", "customer_id", "sold_at", "subtotal_minor", "total_minor")
LINE_FIELDS = ("product_id", "sku", "name", "quantity", "unit_price_minor")
LINE_FIELDS_ALL = (*LINE_FIELDS, "total_minor")
LOADED_SALE = (
    Sale.id,
    Sale.created_at,
    Sale.currency,
    *(getattr(Sale, f) for f in SALE_FIELDS),
)
LOADED_LINE = (
    SaleLine.id,
    SaleLine.sale_id,
    SaleLine.external_id,
    *(getattr(SaleLine, f) for f in LINE_FIELDS_ALL),
)


class SaleWriter:
    entity = "sale"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.zone = ZoneInfo(ctx.company.timezone)

    def write(self, batch: CleanBatch) -> Written:
        ctx, out = self.ctx, Written("sale")
        customers = customers_for(ctx, batch, out)
        products = products_for(
            ctx, batch, out, required=False, price_field="unit_price_minor"
        )
        numbers = batch.column("number")
        groups: dict[str, list[int]] = {}
        for i in batch.live():
            groups.setdefault(numbers[i] or ctx.row_key(batch.rows[i]), []).append(i)
        links = load_links(ctx, "sale", list(groups), scope=SCOPE)
        sales = {
            r.id: r
            for r in bulk.select_in(
                ctx.session,
                LOADED_SALE,
                Sale.id,
                list(links.values()),
                Sale.company_id == ctx.company.id,
            )
        }
        old_lines: dict[uuid.UUID, list[Any]] = {}
        for line in bulk.select_in(
            ctx.session,
            LOADED_LINE,
            SaleLine.sale_id,
            list(sales),
            SaleLine.company_id == ctx.company.id,
        ):
            old_lines.setdefault(line.sale_id, []).append(line)
        plan = _Plan()
        wanted: dict[str, uuid.UUID] = {}
        for key, rows in groups.items():
            found = sales.get(links.get(key)) if key in links else None
            if found is not None and not self._accept(batch, rows, found, out):
                continue
            sale_id = self._sale(batch, key, rows, customers, products, found, plan)
            sale_lines = old_lines.get(sale_id, []) if found is not None else []
            plan.track(sale_id, found, sale_lines)
            self._lines(batch, rows, products, sale_id, sale_lines, plan)
            wanted[key] = sale_id
        plan.flush(ctx, out)
        out.links = save_links(ctx, "sale", wanted, links, scope=SCOPE)
        return out

    def _accept(
        self, batch: CleanBatch, rows: list[int], found: Any, out: Written
    ) -> bool:
        """A receipt imported before: update it, or leave its rows out."""
        if found.created_at >= self.ctx.started_at:
            return True  # this import made it (an earlier batch)
        batch.problems.add(rows[0], "number", "duplicate_existing", None)
        if self.ctx.choice("duplicate_existing") != SKIP:
            return True
        for i in rows:
            batch.skip[i] = True
        return False

    def _sale(
        self,
        batch: CleanBatch,
        key: str,
        rows: list[int],
        customers: list[uuid.UUID | None],
        products: list[uuid.UUID | None],
        found: Any,
        plan: _Plan,
    ) -> uuid.UUID:
        first = rows[0]
        number = batch.column("number")[first]
        customer = next((customers[i] for i in rows if customers[i]), None)
        sold_at = self._when(batch.column("sold_at")[first])
        if found is None:
            sale_id = uuid.uuid4()
            plan.new_sales[sale_id] = {
                "id": sale_id,
                "number": number,
                "customer_id": customer,
                "sold_at": sold_at,
                "currency": batch.currencies[first],
            }
            return sale_id
        values = {"number": number, "sold_at": sold_at}
        if customer is not None:
            values["customer_id"] = customer
        plan.sale_values[found.id] = values
        return cast(uuid.UUID, found.id)

    def _lines(
        self,
        batch: CleanBatch,
        rows: list[int],
        products: list[uuid.UUID | None],
        sale_id: uuid.UUID,
        old: list[Any],
        plan: _Plan,
    ) -> None:
        by_key = {line.external_id: line for line in old if line.external_id}
        seen: dict[str, int] = {}
        skus, names = batch.column("sku"), batch.column("product")
        quantities = batch.column("quantity")
        units, totals = batch.column("unit_price_minor"), batch.column("total_minor")
        for i in rows:
            base = (skus[i] or names[i] or "item").lower()[:200]
            seen[base] = seen.get(base, 0) + 1
            line_key = base if seen[base] == 1 else f"{base}#{seen[base]}"
            quantity = quantities[i] if quantities[i] and quantities[i] > 0 else 1
            unit, total = units[i], totals[i]
            if total is None:
                total = (unit or 0) * quantity
            if unit is None:
                unit = total // quantity
            values = {
                "product_id": products[i],
                "sku": skus[i],
                "name": (names[i] or skus[i] or "Item")[:300],
                "quantity": quantity,
                "unit_price_minor": unit,
                "total_minor": total,
            }
            line = by_key.get(line_key)
            if line is None:
                plan.new_lines.append(
                    {"id": uuid.uuid4(), "sale_id": sale_id, "external_id": line_key}
                    | values
                )
                continue
            if line.product_id is not None and values["product_id"] is None:
                values["product_id"] = line.product_id
            before = {f: getattr(line, f) for f in LINE_FIELDS_ALL}
            if before != values:
                plan.line_updates.append((line, values))

    def _when(self, day: date | None) -> datetime:
        if day is None:
            return utcnow()
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(
            ZoneInfo("UTC")
        )


class _Plan:
    """What the batch will write, gathered so each table is written once."""

    def __init__(self) -> None:
        self.new_sales: dict[uuid.UUID, dict[str, Any]] = {}
        self.sale_values: dict[uuid.UUID, dict[str, Any]] = {}
        self.new_lines: list[dict[str, Any]] = []
        self.line_updates: list[tuple[Any, dict[str, Any]]] = []
        self.lines: dict[uuid.UUID, dict[uuid.UUID, int]] = {}  # sale -> totals
        self.originals: dict[uuid.UUID, Any] = {}

    def track(self, sale_id: uuid.UUID, found: Any, old: list[Any]) -> None:
        """Remember a sale's lines as they are, to total them after the batch."""
        if found is not None:
            self.originals[sale_id] = found
        self.lines[sale_id] = {line.id: line.total_minor for line in old}

    def _totals(self) -> dict[uuid.UUID, int]:
        for line, values in self.line_updates:
            self.lines[line.sale_id][line.id] = values["total_minor"]
        for new in self.new_lines:
            self.lines[new["sale_id"]][new["id"]] = new["total_minor"]
        return {sale: sum(lines.values()) for sale, lines in self.lines.items()}

    def flush(self, ctx: WriteContext, out: Written) -> None:
        now = utcnow()
        company = {"company_id": ctx.company.id}
        totals = self._totals()
        if self.new_sales:
            records = list(self.new_sales.values())
            for r in records:
                r["subtotal_minor"] = r["total_minor"] = totals[r["id"]]
            bulk.insert_rows(
                ctx.session,
                SALES,
                {n: [r[n] for r in records] for n in records[0]},
                company
                | {
                    "status": SaleStatus.COMPLETED.value,
                    "discount_minor": 0,
                    "tax_minor": 0,
                    "refunded_minor": 0,
                    "source": "import",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            out.created += len(records)
            out.created_ids.extend(str(r["id"]) for r in records)
        if self.new_lines:
            bulk.insert_rows(
                ctx.session,
                LINES,
                {n: [r[n] for r in self.new_lines] for n in self.new_lines[0]},
                company | {"refunded_quantity": 0},
            )
            out.created_ids.extend(f"sale_line:{r['id']}" for r in self.new_lines)
        changed: set[uuid.UUID] = set()
        for line, values in self.line_updates:
            before = {f: getattr(line, f) for f in LINE_FIELDS_ALL}
            diff = {f: v for f, v in values.items() if before[f] != v}
            bulk.update_rows(
                ctx.session, LINES, list(diff), [diff | {"id": line.id}], ctx.company.id
            )
            out.updates.append(
                change("sale_line", line.id, {f: before[f] for f in diff}, diff)
            )
            changed.add(line.sale_id)
        self._update_sales(ctx, out, changed, totals, now)

    def _update_sales(
        self,
        ctx: WriteContext,
        out: Written,
        changed: set[uuid.UUID],
        totals: dict[uuid.UUID, int],
        now: datetime,
    ) -> None:
        new_line_sales = {r["sale_id"] for r in self.new_lines}
        for sale_id, sale in self.originals.items():
            values = dict(self.sale_values.get(sale_id, {}))
            values["subtotal_minor"] = values["total_minor"] = totals[sale_id]
            diff = {f: v for f, v in values.items() if getattr(sale, f) != v}
            if diff:
                before = {f: getattr(sale, f) for f in diff}
                bulk.update_rows(
                    ctx.session,
                    SALES,
                    [*diff, "updated_at"],
                    [diff | {"id": sale_id, "updated_at": now}],
                    ctx.company.id,
                )
                out.updates.append(change("sale", sale_id, before, diff))
            if diff or sale_id in changed or sale_id in new_line_sales:
                out.updated += 1
            else:
                out.unchanged += 1
