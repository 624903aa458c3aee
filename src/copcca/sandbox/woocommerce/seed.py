"""Seeded WooCommerce records: pure functions of (seed, index), shaped like
the REST v3 resources (woocommerce/woocommerce REST controllers).

Dates come in pairs, the shop's local time and ``*_gmt`` (UTC), without
an offset, as WooCommerce writes them. Seeded record ``i`` is modified at
``T0 + i * step`` and its id grows with ``i``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from copcca.sandbox.people import GOODS, T0, money, person, rng

LOCAL = timedelta(hours=3)  # the shop's WordPress time zone: Nairobi
ORDER_STEP = timedelta(seconds=20)
CUSTOMER_STEP = timedelta(seconds=60)
ORDER_BASE = 100_000
CUSTOMER_BASE = 0
PRODUCT_BASE = 10
LINE_BASE = 5_000_000
REFUND_BASE = 9_000_000


def gmt(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def local(when: datetime) -> str:
    return (when.astimezone(UTC) + LOCAL).strftime("%Y-%m-%dT%H:%M:%S")


def dates(prefix: str, when: datetime | None) -> dict[str, str | None]:
    if when is None:
        return {prefix: None, f"{prefix}_gmt": None}
    return {prefix: local(when), f"{prefix}_gmt": gmt(when)}


def micros(value: str) -> int:
    when = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return int((when - T0).total_seconds() * 1_000_000)


def contact(
    seed: int, index: int, email: str | None, phone: str | None
) -> dict[str, Any]:
    who = person(seed, index)
    return {
        "first_name": who.first,
        "last_name": who.last,
        "company": "",
        "address_1": f"{100 + index % 800} Kenyatta Avenue",
        "address_2": "",
        "city": who.city,
        "state": "",
        "postcode": "00100",
        "country": "KE",
        "email": email or "",
        "phone": phone or "",
    }


def customer(seed: int, j: int) -> dict[str, Any]:
    who = person(seed, j)
    when = T0 + j * CUSTOMER_STEP
    billing = contact(seed, j, who.email, who.phone)
    return {
        "id": CUSTOMER_BASE + j,
        **dates("date_created", when),
        **dates("date_modified", when),
        "email": who.email or f"customer{j}@example.co.ke",
        "first_name": who.first,
        "last_name": who.last,
        "role": "customer",
        "username": f"{who.first}{j}".lower(),
        "billing": billing,
        "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
        "is_paying_customer": True,
        "avatar_url": "",
        "meta_data": [],
    }


def catalogue(count: int) -> list[dict[str, Any]]:
    """Simple products (variations are not emulated) with stock."""
    out = []
    for k in range(1, count + 1):
        title, kind, price, _options = GOODS[(k - 1) % len(GOODS)]
        round_ = (k - 1) // len(GOODS)
        if round_:
            title = f"{title} ({round_ + 1})"
        when = T0 - timedelta(days=30) + timedelta(minutes=k)
        managed = bool(k % 6)
        out.append(
            {
                "id": PRODUCT_BASE + k,
                "name": title,
                "slug": title.lower().replace(" ", "-"),
                "type": "simple",
                "status": "publish",
                **dates("date_created", when),
                **dates("date_modified", when),
                "sku": f"WC-{k:03d}",
                "price": price,
                "regular_price": price,
                "sale_price": "",
                "manage_stock": managed,
                "stock_quantity": 30 + (k * 11) % 50 if managed else None,
                "stock_status": "instock",
                "categories": [{"id": 1 + (k % 5), "name": kind, "slug": kind.lower()}],
                "variations": [],
                "description": f"<p>{title}</p>",
                "short_description": "",
            }
        )
    return out


def line(line_id: int, product: dict[str, Any], quantity: int) -> dict[str, Any]:
    total = Decimal(product["price"]) * quantity
    tax = (total * Decimal(16) / Decimal(116)).quantize(Decimal("0.01"))
    return {
        "id": line_id,
        "name": product["name"],
        "product_id": product["id"],
        "variation_id": 0,
        "quantity": quantity,
        "tax_class": "",
        "subtotal": money(total),
        "subtotal_tax": money(tax),
        "total": money(total),
        "total_tax": money(tax),
        "taxes": [],
        "meta_data": [],
        "sku": product["sku"],
        # WooCommerce really sends the unit price as a JSON number.
        "price": float(Decimal(product["price"])),
    }


def order_payload(
    *,
    order_id: int,
    created: datetime,
    modified: datetime,
    currency: str,
    lines: list[dict[str, Any]],
    customer_id: int,
    billing: dict[str, Any],
    status: str = "processing",
) -> dict[str, Any]:
    total = sum((Decimal(li["total"]) for li in lines), Decimal(0))
    tax = sum((Decimal(li["total_tax"]) for li in lines), Decimal(0))
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id:x}",
        "created_via": "checkout",
        "status": status,
        "currency": currency,
        **dates("date_created", created),
        **dates("date_modified", modified),
        **dates("date_paid", created if status != "pending" else None),
        **dates("date_completed", None),
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": money(tax),
        "total": money(total),
        "total_tax": money(tax),
        "prices_include_tax": True,
        "customer_id": customer_id,
        "customer_note": "",
        "billing": billing,
        "shipping": {k: v for k, v in billing.items() if k not in ("email", "phone")},
        "payment_method": "mpesa",
        "payment_method_title": "M-Pesa",
        "transaction_id": "",
        "line_items": lines,
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": [],
        "meta_data": [],
    }


def refund(
    order: dict[str, Any], item: dict[str, Any], quantity: int, when: datetime
) -> dict[str, Any]:
    """A full refund object (``/orders/{id}/refunds``): negative amounts."""
    unit = Decimal(item["total"]) / item["quantity"]
    amount = unit * quantity
    return {
        "id": REFUND_BASE + order["id"] * 10 + len(order["refunds"]),
        **dates("date_created", when),
        "amount": money(amount),
        "reason": "Returned by the customer",
        "refunded_by": 1,
        "refunded_payment": False,
        "line_items": [
            {
                "id": item["id"] + 1_000_000,
                "name": item["name"],
                "product_id": item["product_id"],
                "variation_id": 0,
                "quantity": -quantity,
                "subtotal": money(-amount),
                "total": money(-amount),
                "sku": item["sku"],
                "meta_data": [{"key": "_refunded_item_id", "value": str(item["id"])}],
            }
        ],
    }


def seeded_order(
    seed: int,
    i: int,
    *,
    products: list[dict[str, Any]],
    buyer: dict[str, Any] | None,
    currency: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Order ``i`` and its refunds: every 40th partly refunded, every 97th
    cancelled, every 23rd a guest checkout."""
    r = rng(seed, "wc-order", i)
    modified = T0 + i * ORDER_STEP
    created = modified - timedelta(seconds=i % 7)
    lines = [
        line(
            LINE_BASE + i * 4 + n,
            products[r.randrange(len(products))],
            1 + r.randrange(3),
        )
        for n in range(1 + r.randrange(3))
    ]
    if buyer is not None:
        billing, customer_id = buyer["billing"], buyer["id"]
    else:
        who = person(seed, 1_000_000 + i)
        billing, customer_id = contact(seed, 1_000_000 + i, who.email, who.phone), 0
    order = order_payload(
        order_id=ORDER_BASE + i,
        created=created,
        modified=modified,
        currency=currency,
        lines=lines,
        customer_id=customer_id,
        billing=billing,
        status="completed" if i % 3 else "processing",
    )
    refunds: list[dict[str, Any]] = []
    if i % 40 == 0:
        refunds.append(refund(order, lines[0], 1, modified))
        order["refunds"] = [
            {"id": x["id"], "reason": x["reason"], "total": f"-{x['amount']}"}
            for x in refunds
        ]
    if i % 97 == 0:
        order["status"] = "cancelled"
    return order, refunds
