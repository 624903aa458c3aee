"""WooCommerce REST v3 payloads to CRM records. Pure functions, no I/O.

- Dates: the ``*_gmt`` fields (UTC, written without an offset).
- Money: the decimal strings (``total``, ``subtotal``); a line's ``price``
  is a JSON *number* in WooCommerce, so the unit price is worked out from
  the line's ``subtotal`` string instead (never a float).
- Products: one record per product. Variations of a variable product are
  rolled up into their parent (order lines name the parent's
  ``product_id``); a variable product's stock is the parent's own number
  when WooCommerce manages stock at that level, else unknown.
- Refunds: the order lists ``refunds`` with negative totals; the refunded
  quantities come from ``/orders/{id}/refunds`` (attached by the stream as
  ``REFUND_DETAILS``).

Payload shapes: woocommerce/woocommerce REST v3 controllers; providers.md §7.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
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

REFUND_DETAILS = "_refund_details"  # added by the orders stream
STATUS = {
    "completed": SaleStatus.COMPLETED,
    "processing": SaleStatus.COMPLETED,  # paid, being packed
    "pending": SaleStatus.PENDING,
    "on-hold": SaleStatus.PENDING,
    "checkout-draft": SaleStatus.PENDING,
    "cancelled": SaleStatus.CANCELLED,
    "failed": SaleStatus.CANCELLED,
    "trash": SaleStatus.CANCELLED,
    "refunded": SaleStatus.REFUNDED,
}


def customer_record(raw: dict[str, Any]) -> CustomerRecord:
    record = f"WooCommerce customer {str(raw.get('id'))[:30]}"
    ext = p.external_id(raw.get("id"), record=record)
    billing = p.as_dict(raw.get("billing"))
    shipping = p.as_dict(raw.get("shipping"))
    name = _name(raw) or _name(billing) or p.text(raw.get("username"), 200) or ""
    emails = [p.text(raw.get("email"), 320), p.text(billing.get("email"), 320)]
    found = [e for e in emails if e]
    return CustomerRecord(
        external_id=ext,
        name=name,
        phone=p.text(billing.get("phone"), 40),
        email=found[0] if found else None,
        city=p.text(billing.get("city") or shipping.get("city"), 120),
        address=_address(billing) or _address(shipping),
        country=p.country_code(billing.get("country"))
        or p.country_code(shipping.get("country")),
        extra_emails=found[1:],
        updated_at=p.timestamp(
            raw.get("date_modified_gmt"), record=record, required=False
        ),
    )


def product_record(raw: dict[str, Any], currency: str) -> ProductRecord:
    record = f"WooCommerce product {str(raw.get('id'))[:30]}"
    ext = p.external_id(raw.get("id"), record=record)
    categories = [p.as_dict(c) for c in p.as_list(raw.get("categories"))]
    managed = raw.get("manage_stock") is True
    price = raw.get("price") or raw.get("regular_price")
    return ProductRecord(
        external_id=ext,
        name=p.text(raw.get("name"), 300) or p.text(raw.get("sku"), 100) or "Product",
        sku=p.text(raw.get("sku"), 100),
        price_minor=p.money_minor(
            price if isinstance(price, str) else None,
            currency,
            record=record,
            what="price",
        ),
        currency=currency,
        stock_qty=p.stock(raw.get("stock_quantity")) if managed else None,
        category=p.text(categories[0].get("name"), 120) if categories else None,
        description=p.text(raw.get("short_description"), 2000),
        active=raw.get("status", "publish") == "publish",
        updated_at=p.timestamp(
            raw.get("date_modified_gmt"), record=record, required=False
        ),
    )


def sale_record(raw: dict[str, Any]) -> SaleRecord:
    record = f"WooCommerce order {str(raw.get('number') or raw.get('id'))[:30]}"
    ext = p.external_id(raw.get("id"), record=record)
    currency = p.currency_code(raw.get("currency"), record=record)

    def money(value: Any, what: str) -> int:
        return p.money_minor(value, currency, record=record, what=what)

    refunded_qty = _refunded_quantities(raw, record)
    lines = [
        _line(p.as_dict(li), currency, refunded_qty, record)
        for li in p.as_list(raw.get("line_items"))
    ]
    refunded = sum(
        abs(money(p.as_dict(r).get("total"), "refund"))
        for r in p.as_list(raw.get("refunds"))
    )
    total = money(raw.get("total"), "total")
    sold_at = p.timestamp(
        raw.get("date_paid_gmt") or raw.get("date_created_gmt"), record=record
    )
    assert sold_at is not None
    status = STATUS.get(str(raw.get("status")), SaleStatus.PENDING)
    if status is SaleStatus.COMPLETED and refunded:
        status = (
            SaleStatus.REFUNDED
            if refunded >= total > 0
            else SaleStatus.PARTIALLY_REFUNDED
        )
    discount = money(raw.get("discount_total"), "discount")
    tax = money(raw.get("total_tax"), "tax")
    return SaleRecord(
        external_id=ext,
        currency=currency,
        total_minor=total,
        sold_at=sold_at,
        number=p.text(raw.get("number"), 64) or ext,
        status=status.value,
        subtotal_minor=sum(line.unit_price_minor * line.quantity for line in lines),
        discount_minor=discount,
        tax_minor=tax,
        refunded_minor=min(refunded, p.MAX_MINOR),
        channel="online",
        note=p.text(raw.get("customer_note"), 2000),
        customer=_order_customer(raw),
        lines=lines,
        updated_at=p.timestamp(
            raw.get("date_modified_gmt"), record=record, required=False
        ),
    )


def _line(
    li: dict[str, Any], currency: str, refunded: dict[str, int], record: str
) -> SaleLineRecord:
    line_id = p.text(li.get("id"), 255)
    qty = p.quantity(li.get("quantity", 1), record=record)
    subtotal = p.money_minor(li.get("subtotal"), currency, record=record, what="line")
    product = li.get("product_id")
    return SaleLineRecord(
        external_id=line_id,
        name=p.text(li.get("name"), 300) or "Item",
        quantity=qty,
        unit_price_minor=_divide(subtotal, qty),
        total_minor=p.money_minor(
            li.get("total"), currency, record=record, what="line"
        ),
        sku=p.text(li.get("sku"), 100),
        product_external_id=str(product) if product not in (None, "", 0, "0") else None,
        refunded_quantity=min(qty, refunded.get(line_id or "", 0)),
    )


def _divide(amount: int, qty: int) -> int:
    if qty <= 0:
        return amount
    return int((Decimal(amount) / qty).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _refunded_quantities(raw: dict[str, Any], record: str) -> dict[str, int]:
    """Refunded quantity per order line id, from the refund objects."""
    out: dict[str, int] = {}
    if raw.get("status") == "refunded":
        for li in p.as_list(raw.get("line_items")):
            item = p.as_dict(li)
            out[str(item.get("id"))] = p.quantity(
                item.get("quantity", 0), record=record
            )
        return out
    by_product = {
        str(p.as_dict(li).get("product_id")): str(p.as_dict(li).get("id"))
        for li in reversed(p.as_list(raw.get("line_items")))
    }
    for refund in p.as_list(raw.get(REFUND_DETAILS)):
        for li in p.as_list(p.as_dict(refund).get("line_items")):
            item = p.as_dict(li)
            line_id = _refunded_item_id(item) or by_product.get(
                str(item.get("product_id"))
            )
            if line_id is None:
                continue
            try:
                qty = abs(int(Decimal(str(item.get("quantity", 0)))))
            except (InvalidOperation, ValueError) as exc:
                raise DataError(
                    f"{record}: a refund quantity is not a number.", record=record
                ) from exc
            out[line_id] = out.get(line_id, 0) + qty
    return out


def _refunded_item_id(item: dict[str, Any]) -> str | None:
    for meta in p.as_list(item.get("meta_data")):
        entry = p.as_dict(meta)
        if entry.get("key") == "_refunded_item_id" and entry.get("value") not in (
            None,
            "",
        ):
            return str(entry["value"])
    return None


def _order_customer(raw: dict[str, Any]) -> CustomerRecord | None:
    billing = p.as_dict(raw.get("billing"))
    shipping = p.as_dict(raw.get("shipping"))
    phone = p.text(billing.get("phone") or shipping.get("phone"), 40)
    email = p.text(billing.get("email"), 320)
    customer_id = raw.get("customer_id")
    registered = customer_id not in (None, 0, "0", "")
    if not registered and not phone and not email:
        return None  # an anonymous order
    return CustomerRecord(
        external_id=str(customer_id) if registered else None,
        name=_name(billing) or _name(shipping) or "",
        phone=phone,
        email=email,
        city=p.text(billing.get("city") or shipping.get("city"), 120),
        address=_address(billing) or _address(shipping),
        country=p.country_code(billing.get("country"))
        or p.country_code(shipping.get("country")),
    )


def _name(part: dict[str, Any]) -> str:
    names = (p.text(part.get("first_name"), 100), p.text(part.get("last_name"), 100))
    return " ".join(x for x in names if x)


def _address(part: dict[str, Any]) -> str | None:
    bits = [p.text(part.get(k), 200) for k in ("address_1", "address_2", "state")]
    return ", ".join(b for b in bits if b) or None
