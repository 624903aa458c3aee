"""The customer or product a sale, invoice or price row names, found in the
CRM or created, per the owner's choice for the problem kind
(``unknown_customer``, ``unknown_product``): create it, go without it, or
leave the row out.

A record created here is logged as ``entity:id`` in the batch's change log,
so undoing the import removes it too.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import Table, func

from copcca.db.base import utcnow
from copcca.imports import bulk
from copcca.imports.validation import CREATE, SKIP
from copcca.imports.writers.base import CleanBatch, WriteContext, Written
from copcca.imports.writers.products import FIELDS, find_products, flush_products
from copcca.models.crm import Customer

CUSTOMERS = cast(Table, Customer.__table__)
FOUND = (Customer.id, Customer.phone, Customer.email, Customer.name)


def customers_for(
    ctx: WriteContext, batch: CleanBatch, out: Written
) -> list[uuid.UUID | None]:
    """Each live row's customer: by phone, then email, then name (any case).

    Rows naming no customer get ``None``; a row whose customer is unknown
    and whose owner chose "leave out" is marked skipped.
    """
    names = batch.column("customer")
    phones = batch.column("customer_phone")
    emails = batch.column("customer_email")
    live = batch.live()
    index = _known_customers(ctx, live, names, phones, emails)
    found: list[uuid.UUID | None] = [None] * batch.size
    new: list[dict[str, Any]] = []
    for i in live:
        keys = [
            k
            for k in (
                "p" + phones[i] if phones[i] else "",
                "e" + emails[i] if emails[i] else "",
                "n" + names[i].lower() if names[i] else "",
            )
            if k
        ]
        if not keys:
            continue
        hit = next((index[k] for k in keys if k in index), None)
        if hit is None:
            field = (
                "customer"
                if names[i]
                else ("customer_phone" if phones[i] else "customer_email")
            )
            batch.problems.add(
                i, field, "unknown_customer", names[i] or phones[i] or emails[i]
            )
            choice = ctx.choice("unknown_customer")
            if choice == SKIP:
                batch.skip[i] = True
                continue
            if choice != CREATE:
                continue
            hit = uuid.uuid4()
            new.append(_new_customer(hit, names[i], phones[i], emails[i], batch, i))
            for k in keys:
                index.setdefault(k, hit)
        found[i] = hit
    if new:
        _insert_customers(ctx, new)
        out.created_ids.extend(f"customer:{r['id']}" for r in new)
    return found


def _known_customers(
    ctx: WriteContext,
    live: list[int],
    names: list[Any],
    phones: list[Any],
    emails: list[Any],
) -> dict[str, uuid.UUID]:
    session, company = ctx.session, ctx.company.id
    base = (Customer.company_id == company, Customer.deleted_at.is_(None))
    rows = [
        *bulk.select_in(
            session, FOUND, Customer.phone, [phones[i] for i in live], *base
        ),
        *bulk.select_in(
            session, FOUND, Customer.email, [emails[i] for i in live], *base
        ),
        *bulk.select_in(
            session,
            FOUND,
            func.lower(Customer.name),
            [names[i].lower() for i in live if names[i]],
            *base,
        ),
    ]
    index: dict[str, uuid.UUID] = {}
    for row in sorted(rows, key=lambda r: str(r.id)):
        if row.phone:
            index.setdefault("p" + row.phone, row.id)
        if row.email:
            index.setdefault("e" + row.email, row.id)
        index.setdefault("n" + row.name.lower(), row.id)
    return index


def _new_customer(
    id_: uuid.UUID,
    name: str | None,
    phone: str | None,
    email: str | None,
    batch: CleanBatch,
    i: int,
) -> dict[str, Any]:
    return {
        "id": id_,
        "name": (name or phone or email or "Customer")[:200],
        "phone": phone,
        "email": email,
        "phones": bulk.json_list([phone] if phone else []),
        "emails": bulk.json_list([email] if email else []),
        "balance_minor": 0,
        "currency": batch.currencies[i],
    }


def _insert_customers(ctx: WriteContext, new: list[dict[str, Any]]) -> None:
    now = utcnow()
    bulk.insert_rows(
        ctx.session,
        CUSTOMERS,
        {name: [r[name] for r in new] for name in new[0]},
        {
            "company_id": ctx.company.id,
            "source": "import",
            "created_at": now,
            "updated_at": now,
        },
        prepared=frozenset({"phones", "emails"}),
    )


def products_for(
    ctx: WriteContext,
    batch: CleanBatch,
    out: Written,
    *,
    required: bool,
    price_field: str | None = None,
) -> list[uuid.UUID | None]:
    """Each live row's product by SKU, then name (any case).

    An unknown product is created when the owner chose so (priced from
    ``price_field``), otherwise the row is marked skipped. Rows naming no
    product get ``None`` (``required`` rows cannot get there: the pipeline
    left them out as missing a value).
    """
    skus, names = batch.column("sku"), batch.column("product")
    prices = batch.column(price_field) if price_field else [None] * batch.size
    live = batch.live()
    by_sku, by_name = find_products(
        ctx, [skus[i] for i in live], [names[i] for i in live]
    )
    found: list[uuid.UUID | None] = [None] * batch.size
    created: dict[str, uuid.UUID] = {}
    state: dict[uuid.UUID, dict[str, Any]] = {}
    for i in live:
        sku, name = skus[i], names[i]
        if not sku and not name:
            assert not required
            continue
        hit = (by_sku.get(sku) if sku else None) or (
            by_name.get(name.lower()) if name else None
        )
        key = (sku or name or "").lower()
        pid = hit.id if hit is not None else created.get(key)
        if pid is None:
            batch.problems.add(
                i, "sku" if sku else "product", "unknown_product", sku or name
            )
            if ctx.choice("unknown_product") != CREATE:
                batch.skip[i] = True  # counted with the batch's skipped rows
                continue
            pid = uuid.uuid4()
            created[key] = pid
            state[pid] = {f: None for f in FIELDS} | {
                "id": pid,
                "name": (name or sku or "Product")[:300],
                "sku": sku,
                "price_minor": prices[i] or 0,
                "currency": batch.currencies[i],
            }
        found[i] = pid
    if state:
        made = Written("product")
        flush_products(ctx, list(state), state, {}, made)
        out.created_ids.extend(f"product:{i}" for i in made.created_ids)
    return found
