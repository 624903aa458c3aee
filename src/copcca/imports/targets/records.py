"""Customers, products, stock counts and competitor prices."""

from __future__ import annotations

from copcca.imports.targets.base import Field, Kind, Target
from copcca.imports.targets.words import (
    ADDRESS,
    BALANCE,
    BARCODE,
    CATEGORY,
    CITY,
    COMPETITOR,
    COST,
    COUNTED,
    COUNTRY,
    CURRENCY,
    CUSTOMER_ID,
    DATE,
    DESCRIPTION,
    EMAIL,
    NAME,
    NOTES,
    PHONE,
    PRICE,
    PRODUCT_NAME,
    REORDER,
    SKU,
    STOCK,
    URL,
)

CUSTOMERS = Target(
    key="customers",
    label="Customers",
    entity="customer",
    description="People and businesses you sell to, with what they owe.",
    required=(("name", "phone", "email"),),
    fields=(
        Field(
            "name",
            "Name",
            Kind.TEXT,
            (
                *NAME,
                "customer",
                "customer name",
                "client",
                "mteja",
                "jina la mteja",
                "nom du client",
            ),
            "Wanjiku Kamau",
            200,
        ),
        Field("phone", "Phone", Kind.PHONE, PHONE, "0712 345 678"),
        Field(
            "phone2",
            "Second phone",
            Kind.PHONE,
            (
                "phone 2",
                "other phone",
                "alternative phone",
                "simu nyingine",
                "autre telephone",
                "telephone 2",
            ),
            "",
        ),
        Field("email", "Email", Kind.EMAIL, EMAIL, "wanjiku@example.com", 320),
        Field("city", "City or town", Kind.TEXT, CITY, "Nairobi", 120),
        Field("address", "Address", Kind.TEXT, ADDRESS, "Moi Avenue, shop 12"),
        Field("balance", "Balance owed", Kind.MONEY, BALANCE, "KSh 1,500"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("country", "Country", Kind.COUNTRY, COUNTRY, ""),
        Field("notes", "Notes", Kind.TEXT, NOTES, "Pays on Fridays"),
        Field("external_id", "Your customer ID", Kind.ID, CUSTOMER_ID, "C-0001", 255),
    ),
)

PRODUCTS = Target(
    key="products",
    label="Products",
    entity="product",
    description="What you sell, with price, stock and reorder level.",
    required=(("name", "sku"),),
    fields=(
        Field(
            "name", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field("price", "Selling price", Kind.MONEY, PRICE, "KSh 210"),
        Field("cost", "Cost price", Kind.MONEY, COST, "KSh 180"),
        Field("stock", "Stock on hand", Kind.INT, STOCK, "24"),
        Field("reorder_level", "Reorder level", Kind.INT, REORDER, "6"),
        Field("category", "Category", Kind.TEXT, CATEGORY, "Flour", 120),
        Field("barcode", "Barcode", Kind.TEXT, BARCODE, "6161100420018", 64),
        Field("description", "Description", Kind.TEXT, DESCRIPTION, ""),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field(
            "external_id",
            "Your product ID",
            Kind.ID,
            ("id", "product id", "item id", "identifiant"),
            "",
            255,
        ),
    ),
)

STOCK_COUNTS = Target(
    key="stock_counts",
    label="Stock counts",
    entity="product",
    description="A stock take: how many of each product you counted.",
    required=(("sku", "product"), ("counted",)),
    fields=(
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field(
            "product", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field("counted", "Quantity counted", Kind.INT, COUNTED, "18"),
        Field("counted_at", "Date counted", Kind.DATE, DATE, "05/03/2025"),
    ),
)

COMPETITOR_PRICES = Target(
    key="competitor_prices",
    label="Competitor prices",
    entity="competitor_price",
    description="Prices you saw at other shops, to compare with yours.",
    required=(("sku", "product"), ("competitor",), ("price",)),
    fields=(
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field(
            "product", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field(
            "competitor", "Competitor", Kind.TEXT, COMPETITOR, "Naivas Moi Avenue", 200
        ),
        Field("price", "Their price", Kind.MONEY, PRICE, "KSh 215"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("observed_at", "Date seen", Kind.DATE, DATE, "05/03/2025"),
        Field("url", "Link", Kind.TEXT, URL, "", 500),
    ),
)
