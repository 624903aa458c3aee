"""Shopify REST payloads to CRM records. Pure functions, no I/O.

- A customer is one ``CustomerRecord`` (phones from the customer and its
  addresses; the ingest service normalises them to E.164).
- A product becomes one ``ProductRecord`` per variant, keyed by the variant
  id (order lines name variants), with the variant's own inventory number
  as stock when Shopify tracks it.
- An order becomes one ``SaleRecord``: lines, the customer (or the guest's
  contact details), and refunds and cancellations folded into status,
  refunded amount and refunded quantities.

Payload shapes: Shopify/shopify_python_api ``test/fixtures``.
"""

from __future__ import annotations

from typing import Any

from copcca.connectors import payloads as p
from copcca.connectors.errors import DataError
from copcca.crm.records import (
    CustomerRecord,
    ProductRecord,
    SaleLineRecord,
    SaleRecord,
)
from copcca.models.crm import SaleStatus

DEFAULT_VARIANT = "Default Title"


def customer_record(raw: dict[str, Any]) -> CustomerRecord:
    record = f"Shopify customer {str(raw.get('id'))[:30]}"
    ext = p.external_id(raw.get("id"), record=record)
    address = p.as_dict(raw.get("default_address"))
    phones = [raw.get("phone"), address.get("phone")]
    phones += [p.as_dict(a).get("phone") for a in p.as_list(raw.get("addresses"))]
    phones_clean = [str(x) for x in phones if x]
    name = " ".join(
        x
        for x in (p.text(raw.get("first_name"), 100), p.text(raw.get("last_name"), 100))
        if x
    ) or (p.text(address.get("name"), 200) or "")
    return CustomerRecord(
        external_id=ext,
        name=name,
        phone=phones_clean[0] if phones_clean else None,
        email=p.text(raw.get("email"), 320),
        city=p.text(address.get("city"), 120),
        address=_address_line(address),
        country=p.country_code(address.get("country_code")),
        notes=p.text(raw.get("note"), 2000),
        extra_phones=phones_clean[1:],
        updated_at=p.timestamp(raw.get("updated_at"), record=record, required=False),
    )


def product_records(raw: dict[str, Any], currency: str) -> list[ProductRecord]:
    """One record per variant; a product without variants is skipped."""
    record = f"Shopify product {str(raw.get('id'))[:30]}"
    p.external_id(raw.get("id"), record=record)
    title = p.text(raw.get("title"), 300) or "Product"
    updated = p.timestamp(raw.get("updated_at"), record=record, required=False)
    active = str(raw.get("status") or "active") == "active"
    out: list[ProductRecord] = []
    for variant in p.as_list(raw.get("variants")):
        v = p.as_dict(variant)
        label = f"{record} variant {str(v.get('id'))[:30]}"
        vtitle = p.text(v.get("title"), 200)
        tracked = v.get("inventory_management") == "shopify"
        out.append(
            ProductRecord(
                external_id=p.external_id(v.get("id"), record=label),
                name=title
                if vtitle in (None, DEFAULT_VARIANT)
                else f"{title} - {vtitle}",
                sku=p.text(v.get("sku"), 100),
                price_minor=p.money_minor(
                    v.get("price"), currency, record=label, what="price"
                ),
                currency=currency,
                stock_qty=p.stock(v.get("inventory_quantity")) if tracked else None,
                category=p.text(raw.get("product_type"), 120),
                barcode=p.text(v.get("barcode"), 64),
                active=active,
                updated_at=max(
                    (t for t in (updated, _time(v.get("updated_at"))) if t),
                    default=None,
                ),
            )
        )
    if not out:
        raise DataError(f"{record} has no variants to sell.", record=record)
    return out


def sale_record(raw: dict[str, Any]) -> SaleRecord:
    name = p.text(raw.get("name"), 64)
    record = f"Shopify order {name or str(raw.get('id'))[:30]}"
    ext = p.external_id(raw.get("id"), record=record)
    currency = p.currency_code(raw.get("currency"), record=record)

    def money(value: Any, what: str) -> int:
        return p.money_minor(value, currency, record=record, what=what)

    refunded_qty, refunded_minor = _refunds(raw, money, record)
    lines = [
        _line(p.as_dict(li), money, refunded_qty, record)
        for li in p.as_list(raw.get("line_items"))
    ]
    sold_at = p.timestamp(
        raw.get("processed_at") or raw.get("created_at"), record=record
    )
    assert sold_at is not None
    total = money(raw.get("total_price"), "total")
    return SaleRecord(
        external_id=ext,
        currency=currency,
        total_minor=total,
        sold_at=sold_at,
        number=name or p.text(raw.get("order_number"), 64),
        status=_status(raw, refunded_minor, total),
        subtotal_minor=money(raw.get("subtotal_price"), "subtotal"),
        discount_minor=money(raw.get("total_discounts"), "discount"),
        tax_minor=money(raw.get("total_tax"), "tax"),
        refunded_minor=refunded_minor,
        channel="online",
        note=p.text(raw.get("note"), 2000),
        customer=_order_customer(raw),
        lines=lines,
        updated_at=p.timestamp(raw.get("updated_at"), record=record, required=False),
    )


def _line(
    li: dict[str, Any], money: Any, refunded: dict[str, int], record: str
) -> SaleLineRecord:
    line_id = p.text(li.get("id"), 255)
    qty = p.quantity(li.get("quantity", 1), record=record)
    unit = money(li.get("price"), "line price")
    discount = money(li.get("total_discount"), "line discount")
    variant = li.get("variant_id")
    return SaleLineRecord(
        external_id=line_id,
        name=p.text(li.get("name"), 300) or p.text(li.get("title"), 300) or "Item",
        quantity=qty,
        unit_price_minor=unit,
        total_minor=_bounded(unit * qty - discount, record),
        sku=p.text(li.get("sku"), 100),
        product_external_id=str(variant) if variant not in (None, "", 0) else None,
        refunded_quantity=min(qty, refunded.get(line_id or "", 0)),
    )


def _refunds(
    raw: dict[str, Any], money: Any, record: str
) -> tuple[dict[str, int], int]:
    """Refunded quantity per line id and the refunded amount."""
    qty: dict[str, int] = {}
    amount = 0
    for refund in p.as_list(raw.get("refunds")):
        r = p.as_dict(refund)
        for rli in p.as_list(r.get("refund_line_items")):
            item = p.as_dict(rli)
            key = str(item.get("line_item_id") or "")
            qty[key] = qty.get(key, 0) + p.quantity(
                item.get("quantity", 0), record=record
            )
        for tx in p.as_list(r.get("transactions")):
            t = p.as_dict(tx)
            if t.get("kind") == "refund" and t.get("status") in (None, "success"):
                amount += money(t.get("amount"), "refund")
    return qty, _bounded(amount, record)


_CANCELLED = SaleStatus.CANCELLED.value
_REFUNDED = SaleStatus.REFUNDED.value
_PARTIALLY_REFUNDED = SaleStatus.PARTIALLY_REFUNDED.value
_PENDING = SaleStatus.PENDING.value
_COMPLETED = SaleStatus.COMPLETED.value


def _status(raw: dict[str, Any], refunded: int, total: int) -> str:
    financial = str(raw.get("financial_status") or "")
    if raw.get("cancelled_at") or financial == "voided":
        return _CANCELLED
    if financial == "refunded" or (total > 0 and refunded >= total):
        return _REFUNDED
    if financial == "partially_refunded" or refunded > 0:
        return _PARTIALLY_REFUNDED
    if financial in ("pending", "authorized", "partially_paid"):
        return _PENDING
    return _COMPLETED


def _order_customer(raw: dict[str, Any]) -> CustomerRecord | None:
    """The order's customer; for a guest, the contact details on the order."""
    billing = p.as_dict(raw.get("billing_address"))
    shipping = p.as_dict(raw.get("shipping_address"))
    fallback_phones = [
        str(x)
        for x in (raw.get("phone"), billing.get("phone"), shipping.get("phone"))
        if x
    ]
    customer = p.as_dict(raw.get("customer"))
    if customer.get("id") not in (None, ""):
        found = customer_record(customer)
        if not found.phone and fallback_phones:
            found.phone = fallback_phones[0]
        found.email = found.email or p.text(raw.get("email"), 320)
        found.name = found.name or p.text(billing.get("name"), 200) or ""
        return found
    email = p.text(raw.get("email") or raw.get("contact_email"), 320)
    if not fallback_phones and not email:
        return None  # an anonymous sale (e.g. point of sale, no contact)
    address = billing or shipping
    return CustomerRecord(
        external_id=None,
        name=p.text(address.get("name"), 200) or "",
        phone=fallback_phones[0] if fallback_phones else None,
        email=email,
        city=p.text(address.get("city"), 120),
        address=_address_line(address),
        country=p.country_code(address.get("country_code")),
        extra_phones=fallback_phones[1:],
    )


def _address_line(address: dict[str, Any]) -> str | None:
    parts = [p.text(address.get(k), 200) for k in ("address1", "address2", "province")]
    return ", ".join(x for x in parts if x) or None


def _time(value: Any) -> Any:
    try:
        return p.timestamp(value, record="variant", required=False)
    except DataError:
        return None


def _bounded(amount: int, record: str) -> int:
    if abs(amount) > p.MAX_MINOR:
        raise DataError(f"{record}: an amount is impossibly large.", record=record)
    return amount
