"""What each provider's event type means, in the words a shop owner reads in
the Sync Logs ("New orders: 3 new", not "Orders/create: 3 new")."""

from __future__ import annotations

EVENT_LABELS: dict[str, str] = {
    # Shopify
    "orders/create": "new orders",
    "orders/updated": "order updates",
    "customers/create": "new customers",
    "customers/update": "customer updates",
    "products/update": "product updates",
    "app/uninstalled": "app removed from the store",
    # WooCommerce
    "order.created": "new orders",
    "order.updated": "order updates",
    "customer.created": "new customers",
    "customer.updated": "customer updates",
    "product.created": "new products",
    "product.updated": "product updates",
    # Payment rails
    "mpesa.c2b_confirmation": "payments to the till",
    "mpesa.stk_callback": "answers to payment requests",
    "mpesa.result": "answers to status checks",
    "mpesa.timeout": "status checks that timed out",
    "airtel.collection": "payments",
    "tigo.push_callback": "payments",
    "charge.completed": "payments",
    "PAYMENT.CAPTURE.COMPLETED": "payments",
    "PAYMENT.CAPTURE.REFUNDED": "refunds",
}


def event_label(event_type: str) -> str:
    """A known event's plain name, or the type with its punctuation as spaces."""
    known = EVENT_LABELS.get(event_type)
    if known:
        return known
    spaced = event_type.replace("/", " ").replace(".", " ").replace("_", " ")
    return spaced.strip().lower() or "events"
