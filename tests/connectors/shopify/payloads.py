"""Shopify REST payloads in the documented shape (fields as in the public
REST fixtures), written for these tests."""

from __future__ import annotations

import copy
from typing import Any

CUSTOMER: dict[str, Any] = {
    "id": 207119551,
    "email": "Wanjiku.Kamau@Example.co.ke",
    "first_name": "Wanjiku",
    "last_name": "Kamau",
    "phone": None,
    "created_at": "2025-02-01T09:00:00+03:00",
    "updated_at": "2025-02-03T10:30:00+03:00",
    "note": "Prefers M-Pesa",
    "default_address": {
        "address1": "Moi Avenue 12",
        "address2": "",
        "city": "Nairobi",
        "province": "Nairobi County",
        "country_code": "ke",
        "phone": "0712 345 678",
        "name": "Wanjiku Kamau",
    },
    "addresses": [
        {"phone": "0712 345 678", "city": "Nairobi"},
        {"phone": "+254 733-000-111", "city": "Thika"},
    ],
}

PRODUCT: dict[str, Any] = {
    "id": 632910392,
    "title": "Kanga",
    "product_type": "Clothing",
    "status": "active",
    "updated_at": "2025-02-02T08:00:00+03:00",
    "variants": [
        {
            "id": 808950810,
            "title": "Red",
            "price": "650.00",
            "sku": "KANGA-RED",
            "inventory_management": "shopify",
            "inventory_quantity": 10,
            "updated_at": "2025-02-04T08:00:00+03:00",
        },
        {
            "id": 808950811,
            "title": "Blue",
            "price": "650.50",
            "sku": "KANGA-BLUE",
            "inventory_management": None,
            "inventory_quantity": 0,
        },
    ],
}

ORDER: dict[str, Any] = {
    "id": 450789469,
    "name": "#1001",
    "order_number": 1001,
    "email": "wanjiku.kamau@example.co.ke",
    "phone": None,
    "created_at": "2025-02-10T11:00:00+03:00",
    "processed_at": "2025-02-10T11:00:00+03:00",
    "updated_at": "2025-02-10T11:05:00+03:00",
    "cancelled_at": None,
    "currency": "KES",
    "financial_status": "paid",
    "subtotal_price": "1950.50",
    "total_discounts": "50.00",
    "total_tax": "262.14",
    "total_price": "1900.50",
    "note": None,
    "line_items": [
        {
            "id": 466157049,
            "variant_id": 808950810,
            "product_id": 632910392,
            "name": "Kanga - Red",
            "title": "Kanga",
            "sku": "KANGA-RED",
            "quantity": 2,
            "price": "650.00",
            "total_discount": "50.00",
        },
        {
            "id": 518995019,
            "variant_id": 808950811,
            "product_id": 632910392,
            "name": "Kanga - Blue",
            "title": "Kanga",
            "sku": "KANGA-BLUE",
            "quantity": 1,
            "price": "650.50",
            "total_discount": "0.00",
        },
    ],
    "refunds": [],
    "billing_address": {
        "name": "Wanjiku Kamau",
        "phone": "0712345678",
        "city": "Nairobi",
    },
    "shipping_address": None,
    "customer": copy.deepcopy(CUSTOMER),
}


def order(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(ORDER)
    out.update(changes)
    return out


def refund(line_item_id: int, quantity: int, amount: str) -> dict[str, Any]:
    return {
        "id": 509562969,
        "created_at": "2025-02-11T09:00:00+03:00",
        "refund_line_items": [{"line_item_id": line_item_id, "quantity": quantity}],
        "transactions": [{"kind": "refund", "status": "success", "amount": amount}],
    }
