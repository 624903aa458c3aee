"""Seeded Shopify records: pure functions of (seed, index), shaped like
the REST resources (Shopify/shopify_python_api ``test/fixtures``).

Seeded record ``i`` is updated at ``T0 + i * step``; its id is
``base + i``; both grow with ``i``, which is what lets the store page
through 100,000 orders without holding them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from copcca.sandbox.people import GOODS, T0, money, person, rng

SHOP_TZ = timezone(timedelta(hours=3))  # Africa/Nairobi
ORDER_STEP = timedelta(seconds=20)
CUSTOMER_STEP = timedelta(seconds=60)
ORDER_BASE = 5_000_000_000
CUSTOMER_BASE = 6_000_000_000
PRODUCT_BASE = 7_000_000_000
VARIANT_BASE = 40_000_000_000
LINE_BASE = 90_000_000_000
REFUND_BASE = 80_000_000_000


def stamp(when: datetime) -> str:
    """Shopify's format: the shop's local time with its offset."""
    return when.astimezone(SHOP_TZ).isoformat(timespec="seconds")


def micros(value: str) -> int:
    when = datetime.fromisoformat(value)
    return int((when - T0).total_seconds() * 1_000_000)


def address(seed: int, index: int, name: str, phone: str | None) -> dict[str, Any]:
    who = person(seed, index)
    return {
        "address1": f"{100 + index % 800} Moi Avenue",
        "address2": "",
        "city": who.city,
        "province": "Nairobi County",
        "country": "Kenya",
        "country_code": "KE",
        "zip": "00100",
        "phone": phone,
        "name": name,
        "first_name": name.split(" ")[0],
        "last_name": name.split(" ")[-1],
        "company": None,
        "default": True,
    }


def customer(seed: int, j: int) -> dict[str, Any]:
    who = person(seed, j)
    when = stamp(T0 + j * CUSTOMER_STEP)
    name = f"{who.first} {who.last}"
    addr = address(seed, j, name, who.phone)
    return {
        "id": CUSTOMER_BASE + j,
        "email": who.email,
        "first_name": who.first,
        "last_name": who.last,
        "phone": who.phone if j % 3 else None,  # sometimes only on the address
        "created_at": when,
        "updated_at": when,
        "orders_count": 0,
        "state": "enabled",
        "total_spent": "0.00",
        "note": None,
        "verified_email": bool(who.email),
        "tags": "",
        "currency": "KES",
        "default_address": {
            **addr,
            "id": CUSTOMER_BASE + j,
            "customer_id": CUSTOMER_BASE + j,
        },
        "addresses": [
            {**addr, "id": CUSTOMER_BASE + j, "customer_id": CUSTOMER_BASE + j}
        ],
    }


def catalogue(count: int) -> list[dict[str, Any]]:
    """``count`` products cycling through the shop's goods, with variants."""
    products = []
    for k in range(1, count + 1):
        title, kind, price, options = GOODS[(k - 1) % len(GOODS)]
        round_ = (k - 1) // len(GOODS)
        if round_:
            title = f"{title} ({round_ + 1})"
        when = stamp(T0 - timedelta(days=30) + timedelta(minutes=k))
        pid = PRODUCT_BASE + k
        variants = []
        for v, option in enumerate(options or ("Default Title",), start=1):
            variants.append(
                {
                    "id": VARIANT_BASE + k * 10 + v,
                    "product_id": pid,
                    "title": option,
                    "price": price,
                    "sku": f"SKU-{k:03d}-{v}",
                    "position": v,
                    "inventory_policy": "deny",
                    "inventory_management": "shopify" if k % 6 else None,
                    "inventory_quantity": 40 + (k * 7 + v * 3) % 60,
                    "barcode": None,
                    "option1": option,
                    "created_at": when,
                    "updated_at": when,
                }
            )
        products.append(
            {
                "id": pid,
                "title": title,
                "body_html": f"<p>{title}</p>",
                "vendor": "Duka la Amina",
                "product_type": kind,
                "handle": title.lower().replace(" ", "-"),
                "status": "active",
                "created_at": when,
                "updated_at": when,
                "tags": kind,
                "variants": variants,
                "options": [{"name": "Title"}],
            }
        )
    return products


def line_item(
    line_id: int, product: dict[str, Any], variant: dict[str, Any], quantity: int
) -> dict[str, Any]:
    default = variant["title"] == "Default Title"
    return {
        "id": line_id,
        "product_id": product["id"],
        "variant_id": variant["id"],
        "title": product["title"],
        "variant_title": None if default else variant["title"],
        "name": product["title"]
        if default
        else f"{product['title']} - {variant['title']}",
        "sku": variant["sku"],
        "quantity": quantity,
        "price": variant["price"],
        "total_discount": "0.00",
        "fulfillment_status": None,
        "product_exists": True,
        "requires_shipping": True,
        "taxable": True,
    }


def order_payload(
    *,
    order_id: int,
    number: int,
    created: datetime,
    updated: datetime,
    currency: str,
    lines: list[dict[str, Any]],
    buyer: dict[str, Any] | None,
    guest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An order from its lines; totals are computed from the lines."""
    subtotal = sum(Decimal(li["price"]) * li["quantity"] for li in lines)
    tax = (subtotal * Decimal(16) / Decimal(116)).quantize(Decimal("0.01"))
    contact = buyer or guest or {}
    addr = contact.get("default_address") or contact.get("address")
    return {
        "id": order_id,
        "name": f"#{number}",
        "order_number": number,
        "number": number - 1000,
        "email": contact.get("email"),
        "phone": contact.get("phone"),
        "created_at": stamp(created),
        "updated_at": stamp(updated),
        "processed_at": stamp(created),
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "currency": currency,
        "financial_status": "paid",
        "fulfillment_status": None,
        "taxes_included": True,
        "subtotal_price": money(subtotal),
        "total_line_items_price": money(subtotal),
        "total_discounts": "0.00",
        "total_tax": money(tax),
        "total_price": money(subtotal),
        "source_name": "web",
        "note": None,
        "test": False,
        "line_items": lines,
        "refunds": [],
        "billing_address": addr,
        "shipping_address": addr,
        "customer": buyer,
    }


def refund(
    order: dict[str, Any], line: dict[str, Any], quantity: int, when: datetime
) -> dict[str, Any]:
    amount = Decimal(line["price"]) * quantity
    refund_id = (
        REFUND_BASE + int(order["id"]) % 10_000_000_000 * 10 + len(order["refunds"])
    )
    return {
        "id": refund_id,
        "order_id": order["id"],
        "created_at": stamp(when),
        "note": "Returned by the customer",
        "restock": True,
        "refund_line_items": [
            {
                "id": refund_id + 1,
                "line_item_id": line["id"],
                "quantity": quantity,
                "line_item": line,
                "subtotal": money(amount),
            }
        ],
        "transactions": [
            {
                "id": refund_id + 2,
                "order_id": order["id"],
                "kind": "refund",
                "status": "success",
                "amount": money(amount),
                "currency": order["currency"],
                "gateway": "mpesa",
                "created_at": stamp(when),
            }
        ],
    }


def apply_refund_status(order: dict[str, Any]) -> None:
    refunded = sum(
        Decimal(t["amount"])
        for r in order["refunds"]
        for t in r["transactions"]
        if t["kind"] == "refund"
    )
    total = Decimal(order["total_price"])
    if refunded >= total:
        order["financial_status"] = "refunded"
    elif refunded > 0:
        order["financial_status"] = "partially_refunded"


def seeded_order(
    seed: int,
    i: int,
    *,
    products: list[dict[str, Any]],
    buyer: dict[str, Any] | None,
    currency: str,
) -> dict[str, Any]:
    """Order ``i``: one to three lines; every 40th partly refunded, every
    97th cancelled, every 23rd a guest, every 101st anonymous."""
    r = rng(seed, "order", i)
    updated = T0 + i * ORDER_STEP
    created = updated - timedelta(seconds=i % 7)
    lines = []
    for n in range(1 + r.randrange(3)):
        product = products[r.randrange(len(products))]
        variant = product["variants"][r.randrange(len(product["variants"]))]
        lines.append(
            line_item(LINE_BASE + i * 4 + n, product, variant, 1 + r.randrange(3))
        )
    guest = None
    if buyer is None and i % 101:
        who = person(seed, 1_000_000 + i)
        name = f"{who.first} {who.last}"
        guest = {
            "email": who.email,
            "phone": who.phone,
            "address": address(seed, 1_000_000 + i, name, who.phone),
        }
    order = order_payload(
        order_id=ORDER_BASE + i,
        number=1000 + i,
        created=created,
        updated=updated,
        currency=currency,
        lines=lines,
        buyer=buyer,
        guest=guest,
    )
    if i % 40 == 0:
        order["refunds"].append(refund(order, lines[0], 1, updated))
        apply_refund_status(order)
    if i % 97 == 0:
        order["cancelled_at"] = stamp(updated)
        order["cancel_reason"] = "customer"
        order["financial_status"] = "voided"
    return order
