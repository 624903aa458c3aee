"""Shopify: orders, customers and products from a Shopify store.

How it connects: a custom app's Admin API access token (Settings → Apps →
Develop apps), or our public app's OAuth install (``oauth.py``). What it
reads: ``client.py`` (REST, ``Link``/``page_info`` paging, limits),
``streams.py`` (cursors), ``mapping.py`` (payload → CRM records, pure),
``webhooks.py`` (signed deliveries). The user guide is
``docs/connectors/shopify.md``; the wire facts, /work/shared/providers.md §6.
"""

from copcca.connectors.registry import register
from copcca.connectors.shopify.connector import ShopifyConnector

register("shopify", ShopifyConnector)

__all__ = ["ShopifyConnector"]
