"""Sales, invoices and payments: money records that link to customers,
products and invoices already in the CRM (or created by the import)."""

from __future__ import annotations

from copcca.imports.targets.base import Field, Kind, Target
from copcca.imports.targets.words import (
    CURRENCY,
    CUSTOMER,
    CUSTOMER_EMAIL,
    CUSTOMER_PHONE,
    DUE_ON,
    INVOICE_AMOUNT,
    INVOICE_NUMBER,
    ISSUED_ON,
    LINE_TOTAL,
    METHOD,
    NOTES,
    PAID_AMOUNT,
    PAID_ON,
    PAYER_NAME,
    PAYER_PHONE,
    PAYMENT_AMOUNT,
    PAYS_INVOICE,
    PRODUCT_NAME,
    QUANTITY,
    RECEIPT,
    SKU,
    SOLD_ON,
    STATUS,
    TRANSACTION,
    UNIT_PRICE,
)


def _customer_fields(example: str, phone: str) -> tuple[Field, ...]:
    return (
        Field("customer", "Customer name", Kind.TEXT, CUSTOMER, example, 200),
        Field("customer_phone", "Customer phone", Kind.PHONE, CUSTOMER_PHONE, phone),
        Field("customer_email", "Customer email", Kind.EMAIL, CUSTOMER_EMAIL, "", 320),
    )


SALES = Target(
    key="sales",
    label="Sales",
    entity="sale",
    description="Receipts from your till or sales book; a sale with several "
    "items may take several rows with the same receipt number.",
    required=(("sold_at",), ("total", "unit_price")),
    fields=(
        Field("sold_at", "Date", Kind.DATE, SOLD_ON, "05/03/2025"),
        Field("number", "Receipt number", Kind.ID, RECEIPT, "R-1042", 64),
        *_customer_fields("Wanjiku Kamau", "0712 345 678"),
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field("product", "Product", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300),
        Field("quantity", "Quantity", Kind.INT, QUANTITY, "2"),
        Field("unit_price", "Unit price", Kind.MONEY, UNIT_PRICE, "KSh 210"),
        Field("total", "Total", Kind.MONEY, LINE_TOTAL, "KSh 420"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
    ),
)

INVOICES = Target(
    key="invoices",
    label="Invoices",
    entity="invoice",
    description="What customers owe you: unpaid invoices become their debt, and "
    "each gets a short reference to pay by M-Pesa.",
    required=(("number",), ("amount",)),
    fields=(
        Field("number", "Invoice number", Kind.ID, INVOICE_NUMBER, "INV-0042", 64),
        *_customer_fields("Wanjiku Kamau", "0712 345 678"),
        Field("issued_at", "Issue date", Kind.DATE, ISSUED_ON, "05/03/2025"),
        Field("due_at", "Due date", Kind.DATE, DUE_ON, "05/04/2025"),
        Field("amount", "Amount", Kind.MONEY, INVOICE_AMOUNT, "KSh 1,500"),
        Field("paid", "Amount paid", Kind.MONEY, PAID_AMOUNT, "KSh 500"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("status", "Status", Kind.TEXT, STATUS, "Open", 40),
        Field("notes", "Notes", Kind.TEXT, NOTES, ""),
    ),
)

PAYMENTS = Target(
    key="payments",
    label="Payments",
    entity="payment",
    description="Money you received (cash, bank, card, mobile money), matched "
    "to invoices; an M-Pesa statement export is recognised as it is.",
    required=(("paid_at",), ("amount",)),
    fields=(
        Field("paid_at", "Date", Kind.DATE, PAID_ON, "05/03/2025"),
        Field("amount", "Amount", Kind.MONEY, PAYMENT_AMOUNT, "KSh 1,500"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("payer_phone", "Payer phone", Kind.PHONE, PAYER_PHONE, "0712 345 678"),
        Field("payer_name", "Payer name", Kind.TEXT, PAYER_NAME, "Wanjiku Kamau", 200),
        Field(
            "reference",
            "Transaction ID / receipt",
            Kind.ID,
            TRANSACTION,
            "SC1AB2CD3E",
            100,
        ),
        Field("method", "Method", Kind.TEXT, METHOD, "M-Pesa", 60),
        Field("invoice", "Invoice number", Kind.ID, PAYS_INVOICE, "INV-0042", 100),
    ),
)
