"""Shopify payloads to CRM records: exact values, and hostile payloads that
must become one clear DataError, never a crash or a wrong number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from copcca.connectors.errors import DataError
from copcca.connectors.shopify import mapping
from tests.connectors.shopify.payloads import CUSTOMER, PRODUCT, order, refund


def test_customer_record() -> None:
    record = mapping.customer_record(CUSTOMER)
    assert record.external_id == "207119551"
    assert record.name == "Wanjiku Kamau"
    assert record.phone == "0712 345 678"  # normalised by the ingest service
    assert record.extra_phones == ["0712 345 678", "+254 733-000-111"]
    assert record.email == "Wanjiku.Kamau@Example.co.ke"
    assert record.city == "Nairobi"
    assert record.address == "Moi Avenue 12, Nairobi County"
    assert record.country == "KE"
    assert record.updated_at == datetime(2025, 2, 3, 7, 30, tzinfo=UTC)


def test_each_variant_is_a_product_with_the_stock_shopify_counts() -> None:
    red, blue = mapping.product_records(PRODUCT, "KES")
    assert (red.external_id, red.name, red.sku) == (
        "808950810",
        "Kanga - Red",
        "KANGA-RED",
    )
    assert (red.price_minor, red.currency, red.stock_qty) == (65000, "KES", 10)
    assert red.updated_at == datetime(2025, 2, 4, 5, 0, tzinfo=UTC)  # the newer of both
    assert blue.price_minor == 65050
    assert blue.stock_qty is None  # Shopify does not track it: unknown, not 0


def test_a_single_default_variant_keeps_the_product_title() -> None:
    product = {
        **PRODUCT,
        "variants": [{**PRODUCT["variants"][0], "title": "Default Title"}],
    }
    [record] = mapping.product_records(product, "KES")
    assert record.name == "Kanga"


def test_order_becomes_a_sale_with_lines() -> None:
    sale = mapping.sale_record(order())
    assert sale.external_id == "450789469"
    assert sale.number == "#1001"
    assert sale.status == "completed"
    assert (sale.currency, sale.total_minor, sale.subtotal_minor) == (
        "KES",
        190050,
        195050,
    )
    assert (sale.discount_minor, sale.tax_minor, sale.refunded_minor) == (
        5000,
        26214,
        0,
    )
    assert sale.sold_at == datetime(2025, 2, 10, 8, 0, tzinfo=UTC)
    first, second = sale.lines
    assert (first.external_id, first.quantity, first.unit_price_minor) == (
        "466157049",
        2,
        65000,
    )
    assert first.total_minor == 125000  # 2 x 650.00 - 50.00 discount
    assert first.product_external_id == "808950810"
    assert (second.unit_price_minor, second.total_minor) == (65050, 65050)
    assert sale.customer is not None
    assert sale.customer.external_id == "207119551"


def test_a_partial_refund_changes_status_amount_and_quantities() -> None:
    sale = mapping.sale_record(
        order(
            financial_status="partially_refunded",
            refunds=[refund(466157049, 1, "600.00")],
        )
    )
    assert sale.status == "partially_refunded"
    assert sale.refunded_minor == 60000
    assert [line.refunded_quantity for line in sale.lines] == [1, 0]


def test_a_full_refund_and_a_cancellation() -> None:
    refunded = mapping.sale_record(
        order(financial_status="refunded", refunds=[refund(466157049, 2, "1900.50")])
    )
    assert refunded.status == "refunded"
    cancelled = mapping.sale_record(order(cancelled_at="2025-02-10T12:00:00+03:00"))
    assert cancelled.status == "cancelled"


def test_a_failed_refund_transaction_refunds_nothing() -> None:
    failed = refund(466157049, 1, "600.00")
    failed["transactions"][0]["status"] = "failure"
    sale = mapping.sale_record(order(refunds=[failed]))
    assert sale.refunded_minor == 0


def test_a_guest_order_brings_the_contact_on_the_order() -> None:
    sale = mapping.sale_record(order(customer=None, phone="+254 700 111 222"))
    assert sale.customer is not None
    assert sale.customer.external_id is None
    assert sale.customer.phone == "+254 700 111 222"
    assert sale.customer.email == "wanjiku.kamau@example.co.ke"


def test_an_order_without_any_customer_or_contact_has_no_customer() -> None:
    sale = mapping.sale_record(
        order(customer=None, email=None, phone=None, billing_address=None)
    )
    assert sale.customer is None


def test_a_customer_without_phone_takes_the_orders_billing_phone() -> None:
    customer = {**CUSTOMER, "default_address": None, "addresses": []}
    sale = mapping.sale_record(order(customer=customer))
    assert sale.customer is not None
    assert sale.customer.phone == "0712345678"


def test_a_deleted_product_keeps_the_line_without_a_product() -> None:
    data = order()
    data["line_items"][1].update(variant_id=None, product_id=None, product_exists=False)
    sale = mapping.sale_record(data)
    assert sale.lines[1].product_external_id is None
    assert sale.lines[1].name == "Kanga - Blue"


def test_ugx_has_no_minor_unit() -> None:
    sale = mapping.sale_record(order(currency="UGX", total_price="19005"))
    assert sale.total_minor == 19005


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "XYZ"}, "currency 'XYZ'"),
        ({"currency": None}, "currency"),
        ({"total_price": "12,50"}, "not an amount"),
        ({"total_price": 1900.5}, "not a decimal amount"),  # a float on the wire
        ({"total_price": "99999999999999999999999.00"}, "impossibly large"),
        ({"total_price": "1e400"}, "not an amount"),
        ({"id": None}, "no usable id"),
        ({"processed_at": "yesterday"}, "not a date"),
        ({"processed_at": None, "created_at": None}, "no date"),
    ],
)
def test_hostile_orders_are_one_clear_data_error(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataError, match=message) as info:
        mapping.sale_record(order(**changes))
    assert info.value.record is not None


@pytest.mark.parametrize("quantity", [2**31, -1, "1.5", "many", None, True])
def test_impossible_quantities_are_refused(quantity: Any) -> None:
    data = order()
    data["line_items"][0]["quantity"] = quantity
    with pytest.raises(DataError, match="quantity"):
        mapping.sale_record(data)


def test_a_huge_but_storable_quantity_is_kept_exactly() -> None:
    data = order()
    data["line_items"][0].update(quantity=2**31 - 1, price="1.00", total_discount="0")
    line = mapping.sale_record(data).lines[0]
    assert (line.quantity, line.total_minor) == (2**31 - 1, (2**31 - 1) * 100)


def test_junk_inside_lists_is_ignored_not_fatal() -> None:
    sale = mapping.sale_record(order(line_items=["junk", None, 3], refunds="nope"))
    assert [line.name for line in sale.lines] == ["Item", "Item", "Item"]
    assert sale.refunded_minor == 0


def test_a_product_without_variants_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no variants"):
        mapping.product_records({**PRODUCT, "variants": []}, "KES")
