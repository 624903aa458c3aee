"""WooCommerce: orders, customers and products from a WordPress shop.

How it connects: a REST API key pair (WooCommerce → Settings → Advanced →
REST API). What it reads: ``client.py`` (auth, ``X-WP-TotalPages`` paging),
``streams.py`` (cursors, and how customers without a modified filter are
kept current), ``mapping.py`` (payload → CRM records, pure),
``webhooks.py`` (signed deliveries and the creation ping). The user guide
is ``docs/connectors/woocommerce.md``; the wire facts, providers.md §7.
"""

from copcca.connectors.registry import register
from copcca.connectors.woocommerce.connector import WooCommerceConnector

register("woocommerce", WooCommerceConnector)

__all__ = ["WooCommerceConnector"]
