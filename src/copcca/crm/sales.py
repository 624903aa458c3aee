"""Sales from shops and tills: upsert an order as one sale with its lines.

A sale is keyed by (company, integration, external id) through
``external_ids``, so the same order arriving by sync and by webhook, or
twice, is one sale (J3, W7). A refund or a cancellation is a newer version
of the same order: it changes the sale's status, refunded amount and the
lines' refunded quantities, never adds a second sale. An older version than
the one already applied changes nothing (W9).

Stock is not touched here: product stock follows the provider's own
inventory numbers, which arrive with the product records.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from copcca import events
from copcca.crm.ids import new_id
from copcca.crm.ingest import (
    Ingestor,
    Keys,
    Outcome,
    Upserted,
    apply_values,
    register_upserter,
)
from copcca.crm.records import ProductRecord, SaleLineRecord, SaleRecord
from copcca.db.repository import TenantRepository
from copcca.models.crm import Sale, SaleLine
from copcca.models.webhooks import Event


class SaleRepository(TenantRepository[Sale]):
    model = Sale
    noun = "sale"

    def lines_of(self, sale_id: uuid.UUID) -> Sequence[SaleLine]:
        stmt = (
            select(SaleLine)
            .where(SaleLine.company_id == self.company_id, SaleLine.sale_id == sale_id)
            .order_by(SaleLine.external_id, SaleLine.id)
        )
        return self.session.scalars(stmt).all()


def upsert_sale(ingest: Ingestor, record: SaleRecord) -> Upserted:
    """Create or update the sale for ``record``; emit sale.created/updated."""
    if ingest.is_deferred(("sale", record.external_id)):
        ingest.write_deferred()  # a newer version of a sale this batch created
    stale = ingest.stale_link("sale", record.external_id, record.updated_at)
    if stale is not None:
        return Upserted(stale.entity_id, Outcome.UNCHANGED)
    repo = SaleRepository(ingest.session, ingest.company.id)
    existing = _find(ingest, repo, record.external_id)
    # A new sale is deferred, and so may its new customer be; an existing
    # sale is changed through the ORM and needs its customer written.
    deferring = existing is None and ingest.batching and bool(ingest.integration_id)
    customer_id = None
    if record.customer is not None:
        customer_id = ingest.upsert(record.customer, defer=deferring).id
    values = _sale_values(record, customer_id, ingest.source)
    if deferring:
        return _create_deferred(ingest, record, values)
    if existing is None:
        sale = repo.add(Sale(id=new_id(), **values))
        changed, outcome = True, Outcome.CREATED
        old_lines: Sequence[SaleLine] = []
    else:
        sale = existing
        if customer_id is None:
            values.pop("customer_id")  # the order lost its customer: keep ours
        changed = apply_values(sale, values)
        outcome = Outcome.UPDATED
        old_lines = repo.lines_of(sale.id)
    changed = _sync_lines(ingest, sale, old_lines, record.lines) or changed
    if existing is not None and not changed:
        outcome = Outcome.UNCHANGED
    if ingest.integration_id:
        ingest.external.link(
            ingest.integration_id,
            "sale",
            record.external_id,
            sale.id,
            record.updated_at,
        )
    if outcome is not Outcome.UNCHANGED:
        events.emit(
            ingest.session,
            ingest.company.id,
            f"sale.{outcome.value}",
            entity="sale",
            entity_id=sale.id,
            data=_event_data(
                {c: getattr(sale, c) for c in EVENT_FIELDS}, ingest.source
            ),
        )
    return Upserted(sale.id, outcome)


def _create_deferred(
    ingest: Ingestor, record: SaleRecord, values: dict[str, Any]
) -> Upserted:
    """A new sale as plain rows, written with the rest of the batch in one
    statement per table (a page of orders is mostly new sales)."""
    now = ingest.written_at
    company_id = ingest.company.id
    sale_id = new_id()
    ingest.defer(
        Sale,
        {
            "id": sale_id,
            "company_id": company_id,
            "created_at": now,
            "updated_at": now,
            **values,
        },
        key=("sale", record.external_id),
    )
    for item in record.lines:
        ingest.defer(
            SaleLine,
            {
                "id": new_id(),
                "company_id": company_id,
                "sale_id": sale_id,
                **_line_values(ingest, item),
            },
        )
    ingest.defer_link("sale", record.external_id, sale_id, record.updated_at)
    ingest.defer(
        Event,
        ingest.event_row(
            "sale.created", "sale", sale_id, _event_data(values, ingest.source)
        ),
    )
    return Upserted(sale_id, Outcome.CREATED)


def _find(ingest: Ingestor, repo: SaleRepository, external_id: str) -> Sale | None:
    if not ingest.integration_id:
        return None
    link = ingest.external.find(ingest.integration_id, "sale", external_id)
    return repo.get(link.entity_id) if link is not None else None


EVENT_FIELDS = ("number", "status", "total_minor", "refunded_minor", "currency")


def _event_data(values: dict[str, Any], source: str | None) -> dict[str, Any]:
    data = {k: values[k] for k in EVENT_FIELDS}
    data["source"] = source
    return data


def _sale_values(
    record: SaleRecord, customer_id: uuid.UUID | None, source: str | None
) -> dict[str, Any]:
    return {
        "number": (record.number or "")[:64] or None,
        "customer_id": customer_id,
        "sold_at": record.sold_at,
        "status": record.status,
        "currency": record.currency,
        "subtotal_minor": record.subtotal_minor,
        "discount_minor": record.discount_minor,
        "tax_minor": record.tax_minor,
        "total_minor": record.total_minor,
        "refunded_minor": record.refunded_minor,
        "channel": record.channel,
        "source": source,
        "note": record.note,
    }


def _sync_lines(
    ingest: Ingestor,
    sale: Sale,
    old: Sequence[SaleLine],
    new: list[SaleLineRecord],
) -> bool:
    """Make the sale's lines equal ``new``, matched by external id."""
    by_key = {line.external_id: line for line in old if line.external_id}
    unkeyed = [line for line in old if not line.external_id]
    changed = False
    keep: set[uuid.UUID] = set()
    for position, item in enumerate(new):
        line = by_key.get(item.external_id) if item.external_id else None
        if line is None and not item.external_id and position < len(unkeyed):
            line = unkeyed[position]
        values = _line_values(ingest, item)
        if line is None:
            line = SaleLine(
                id=new_id(),
                company_id=ingest.company.id,
                sale_id=sale.id,
                **values,
            )
            ingest.session.add(line)
            changed = True
        else:
            if line.product_id is not None and values["product_id"] is None:
                values.pop("product_id")  # product deleted in the shop: keep ours
            changed = apply_values(line, values) or changed
        keep.add(line.id)
    for line in old:
        if line.id not in keep:  # the order was edited and lost this line
            ingest.session.delete(line)
            changed = True
    return changed


def _line_values(ingest: Ingestor, item: SaleLineRecord) -> dict[str, Any]:
    return {
        "product_id": _product_for(ingest, item),
        "external_id": item.external_id,
        "sku": (item.sku or "")[:100] or None,
        "name": (item.name or "").strip()[:300] or item.sku or "Item",
        "quantity": item.quantity,
        "refunded_quantity": item.refunded_quantity,
        "unit_price_minor": item.unit_price_minor,
        "total_minor": item.total_minor,
    }


def _product_for(ingest: Ingestor, item: SaleLineRecord) -> uuid.UUID | None:
    """The CRM product of a line: by external id, then SKU, else a new one
    named after the line (its stock stays unknown until the product syncs)."""
    if item.product_external_id is None and not item.sku:
        return None  # a deleted or custom item: the line keeps its own name
    if item.product_external_id and ingest.integration_id:
        link = ingest.external.find(
            ingest.integration_id, "product", item.product_external_id
        )
        if link is not None:
            return link.entity_id
    if item.sku:
        found = ingest.products.by_sku(item.sku.strip())
        if found is not None:
            if item.product_external_id and ingest.integration_id:
                ingest.external.link(
                    ingest.integration_id, "product", item.product_external_id, found.id
                )
            return found.id
    if item.product_external_id is None:
        return None
    return ingest.upsert(
        ProductRecord(
            external_id=item.product_external_id,
            name=item.name,
            sku=item.sku,
            price_minor=item.unit_price_minor,
        )
    ).id


def sale_keys(record: SaleRecord, keys: Keys) -> None:
    """What upserting ``record`` looks up, for ``Ingestor.prefetch``."""
    keys.add("sale", record.external_id)
    if record.customer is not None:
        keys.customer(record.customer)
    for line in record.lines:
        keys.add("product", line.product_external_id)
        keys.product_sku(line.product_external_id, line.sku)


register_upserter(SaleRecord, upsert_sale, keys=sale_keys)
