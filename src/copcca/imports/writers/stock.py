"""Stock counts: set each product's stock to what was counted."""

from __future__ import annotations

import uuid

from copcca.imports.validation import CREATE
from copcca.imports.writers.base import CleanBatch, WriteContext, Written
from copcca.imports.writers.products import FIELDS, find_products, flush_products


class StockCountWriter:
    entity = "product"

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx

    def write(self, batch: CleanBatch) -> Written:
        ctx, out = self.ctx, Written("product")
        skus, names, counted = (batch.column(n) for n in ("sku", "product", "counted"))
        live = batch.live()
        by_sku, by_name = find_products(
            ctx, [skus[i] for i in live], [names[i] for i in live]
        )
        originals = {r.id: r for r in (*by_sku.values(), *by_name.values())}
        state = {
            pid: {f: getattr(r, f) for f in FIELDS} | {"id": pid}
            for pid, r in originals.items()
        }
        created: dict[str, uuid.UUID] = {}
        new: list[uuid.UUID] = []
        for i in live:
            sku, name = skus[i], names[i]
            hit = (by_sku.get(sku) if sku else None) or (
                by_name.get(name.lower()) if name else None
            )
            pid = (
                hit.id if hit is not None else created.get((sku or name or "").lower())
            )
            if pid is None:
                batch.problems.add(
                    i, "sku" if sku else "product", "unknown_product", sku or name
                )
                if ctx.choice("unknown_product") != CREATE:
                    out.skipped += 1
                    continue
                pid = uuid.uuid4()
                state[pid] = {f: None for f in FIELDS} | {
                    "id": pid,
                    "name": (name or sku or "Product")[:300],
                    "sku": sku,
                    "price_minor": 0,
                    "currency": batch.currencies[i],
                }
                created[(sku or name or "").lower()] = pid
                new.append(pid)
                out.created += 1
                state[pid]["stock_qty"] = counted[i]
                continue
            record = state[pid]
            if record["stock_qty"] == counted[i]:
                out.unchanged += 1
            else:
                record["stock_qty"] = counted[i]
                out.updated += 1
        flush_products(ctx, new, state, originals, out)
        return out
