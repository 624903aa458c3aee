"""Build a standalone sandbox shop for ``copcca sandbox`` and say how to
connect to it."""

from __future__ import annotations

from typing import Any

from copcca.sandbox.server import serve_forever
from copcca.sandbox.shopify.app import create_app as shopify_app
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from copcca.sandbox.woocommerce.app import create_app as woo_app
from copcca.sandbox.woocommerce.store import ShopSettings, WooStore

__all__ = ["SHOPS", "build", "serve_forever"]

SHOPS = ("shopify", "woocommerce")


def build(provider: str, *, orders: int, customers: int) -> tuple[Any, list[str]]:
    """The emulator app and the connection details to print."""
    if provider == "shopify":
        store = ShopifyStore(StoreSettings(orders=orders, customers=customers))
        st = store.settings
        return shopify_app(store), [
            f"Shop address:             {st.shop_domain}",
            "API address (sandbox):    {base}",
            f"Admin API access token:   {st.access_token}",
            f"Webhook signing secret:   {st.client_secret}",
            f"OAuth client id / secret: {st.client_id} / {st.client_secret}",
        ]
    if provider == "woocommerce":
        shop = WooStore(ShopSettings(orders=orders, customers=customers))
        ws = shop.settings
        return woo_app(shop), [
            "Store address:   {base}",
            f"Consumer key:    {ws.consumer_key}",
            f"Consumer secret: {ws.consumer_secret}",
            "Webhooks: create them with POST {base}/wp-json/wc/v3/webhooks "
            '{"topic","delivery_url","secret"}',
        ]
    raise ValueError(f"No sandbox called '{provider}': use shopify or woocommerce.")
