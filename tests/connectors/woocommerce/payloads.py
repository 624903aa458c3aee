"""WooCommerce REST v3 payloads in the documented shape, for these tests."""

from __future__ import annotations

import copy
from typing import Any

CUSTOMER: dict[str, Any] = {
    "id": 25,
    "date_created_gmt": "2025-02-01T06:00:00",
    "date_modified_gmt": "2025-02-03T07:30:00",
    "email": "achieng@example.co.ke",
    "first_name": "Achieng",
    "last_name": "Odhiambo",
    "role": "customer",
    "username": "achieng",
    "billing": {
        "first_name": "Achieng",
        "last_name": "Odhiambo",
        "address_1": "Kenyatta Avenue 4",
        "address_2": "",
        "city": "Kisumu",
        "state": "",
        "country": "KE",
        "email": "billing@example.co.ke",
        "phone": "0722 000 111",
    },
    "shipping": {"city": "Kisumu", "country": "KE"},
}

PRODUCT: dict[str, Any] = {
    "id": 794,
    "name": "Kiondo basket",
    "type": "simple",
    "status": "publish",
    "sku": "KIONDO-S",
    "price": "1450.00",
    "regular_price": "1450.00",
    "manage_stock": True,
    "stock_quantity": 12,
    "categories": [{"id": 9, "name": "Crafts", "slug": "crafts"}],
    "date_modified_gmt": "2025-02-02T05:00:00",
}

ORDER: dict[str, Any] = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "currency": "KES",
    "date_created_gmt": "2025-02-10T08:00:00",
    "date_modified_gmt": "2025-02-10T08:05:00",
    "date_paid_gmt": "2025-02-10T08:01:00",
    "discount_total": "0.00",
    "total": "3550.00",
    "total_tax": "489.66",
    "customer_id": 25,
    "customer_note": "",
    "billing": copy.deepcopy(CUSTOMER["billing"]),
    "shipping": {"city": "Kisumu"},
    "line_items": [
        {
            "id": 315,
            "name": "Kiondo basket",
            "product_id": 794,
            "variation_id": 0,
            "quantity": 2,
            "subtotal": "2900.00",
            "total": "2900.00",
            "sku": "KIONDO-S",
            "price": 1450,
        },
        {
            "id": 316,
            "name": "Kanga",
            "product_id": 93,
            "variation_id": 0,
            "quantity": 3,
            "subtotal": "650.00",
            "total": "650.00",
            "sku": "",
            "price": 216.6666666666667,
        },
    ],
    "refunds": [],
}


def order(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(ORDER)
    out.update(changes)
    return out


def refund_detail(line_id: int, quantity: int, product_id: int = 794) -> dict[str, Any]:
    return {
        "id": 726,
        "amount": "1450.00",
        "line_items": [
            {
                "id": 900,
                "product_id": product_id,
                "quantity": -quantity,
                "total": "-1450.00",
                "meta_data": [{"key": "_refunded_item_id", "value": str(line_id)}],
            }
        ],
    }
