"""WooCommerce payloads to CRM records, including hostile ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from copcca.connectors.errors import DataError
from copcca.connectors.woocommerce import mapping
from tests.connectors.woocommerce.payloads import (
    CUSTOMER,
    PRODUCT,
    order,
    refund_detail,
)


def test_customer_record() -> None:
    record = mapping.customer_record(CUSTOMER)
    assert (record.external_id, record.name) == ("25", "Achieng Odhiambo")
    assert (record.phone, record.email) == ("0722 000 111", "achieng@example.co.ke")
    assert record.extra_emails == ["billing@example.co.ke"]
    assert (record.city, record.country) == ("Kisumu", "KE")
    assert record.updated_at == datetime(
        2025, 2, 3, 7, 30, tzinfo=UTC
    )  # GMT, no offset


def test_product_record_with_managed_stock() -> None:
    record = mapping.product_record(PRODUCT, "KES")
    assert (record.external_id, record.sku, record.price_minor) == (
        "794",
        "KIONDO-S",
        145000,
    )
    assert (record.stock_qty, record.category, record.active) == (12, "Crafts", True)
    unmanaged = mapping.product_record({**PRODUCT, "manage_stock": False}, "KES")
    assert unmanaged.stock_qty is None


def test_order_becomes_a_sale_without_touching_the_float_price() -> None:
    sale = mapping.sale_record(order())
    assert (sale.external_id, sale.number, sale.status) == ("727", "727", "completed")
    assert (sale.total_minor, sale.tax_minor, sale.currency) == (355000, 48966, "KES")
    assert sale.sold_at == datetime(2025, 2, 10, 8, 1, tzinfo=UTC)
    basket, kanga = sale.lines
    assert (basket.quantity, basket.unit_price_minor, basket.total_minor) == (
        2,
        145000,
        290000,
    )
    # 650.00 / 3 from the subtotal string, rounded half-even, not 216.666... float
    assert (kanga.unit_price_minor, kanga.total_minor) == (21667, 65000)
    assert basket.product_external_id == "794"
    assert sale.customer is not None
    assert sale.customer.external_id == "25"


def test_a_partial_refund_uses_the_refund_details() -> None:
    data = order(refunds=[{"id": 726, "reason": "", "total": "-1450.00"}])
    data[mapping.REFUND_DETAILS] = [refund_detail(315, 1)]
    sale = mapping.sale_record(data)
    assert (sale.status, sale.refunded_minor) == ("partially_refunded", 145000)
    assert [line.refunded_quantity for line in sale.lines] == [1, 0]


def test_a_refund_line_without_meta_is_matched_by_product() -> None:
    detail = refund_detail(315, 1)
    detail["line_items"][0]["meta_data"] = []
    data = order(refunds=[{"id": 726, "total": "-1450.00"}])
    data[mapping.REFUND_DETAILS] = [detail]
    assert [line.refunded_quantity for line in mapping.sale_record(data).lines] == [
        1,
        0,
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("refunded", "refunded"),
        ("cancelled", "cancelled"),
        ("failed", "cancelled"),
        ("on-hold", "pending"),
        ("pending", "pending"),
        ("completed", "completed"),
        ("some-plugin-status", "pending"),
    ],
)
def test_statuses(status: str, expected: str) -> None:
    assert mapping.sale_record(order(status=status)).status == expected


def test_a_fully_refunded_order_refunds_every_quantity() -> None:
    sale = mapping.sale_record(
        order(status="refunded", refunds=[{"total": "-3550.00"}])
    )
    assert [line.refunded_quantity for line in sale.lines] == [2, 3]
    assert sale.refunded_minor == 355000


def test_guest_and_anonymous_orders() -> None:
    guest = mapping.sale_record(order(customer_id=0))
    assert guest.customer is not None
    assert guest.customer.external_id is None
    assert guest.customer.phone == "0722 000 111"
    nobody = mapping.sale_record(
        order(customer_id=0, billing={"first_name": "X"}, shipping={})
    )
    assert nobody.customer is None


def test_a_deleted_product_line_has_no_product() -> None:
    data = order()
    data["line_items"][0]["product_id"] = 0
    assert mapping.sale_record(data).lines[0].product_external_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "KSH"}, "currency 'KSH'"),
        ({"total": "3,550.00"}, "not an amount"),
        ({"total": 3550.0}, "not a decimal amount"),
        ({"id": ""}, "no usable id"),
        ({"date_paid_gmt": None, "date_created_gmt": None}, "no date"),
    ],
)
def test_hostile_orders(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        mapping.sale_record(order(**changes))


def test_an_impossible_quantity_is_refused() -> None:
    data = order()
    data["line_items"][0]["quantity"] = 10**12
    with pytest.raises(DataError, match="quantity"):
        mapping.sale_record(data)
