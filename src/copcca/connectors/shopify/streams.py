"""Shopify streams: customers, products (variants and stock), orders.

Each stream reads ``order=updated_at asc`` from ``updated_at_min`` and
follows the ``Link`` header. The cursor saved with each page is::

    {"updated_at_min": <where this pass started>,
     "page_info": <next page, or None when the pass is done>,
     "high_water": <latest updated_at seen>}

A crash resumes from ``page_info``; a ``page_info`` Shopify no longer
accepts restarts the pass from ``high_water`` (everything before it is
already stored, the order being by ``updated_at``). A finished pass starts
the next one at ``high_water`` inclusively: the boundary record is read
again and changes nothing, and a record updated in the same second is
not missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, ClassVar

import copcca.crm.sales  # noqa: F401  (registers the sale upserter)
from copcca.connectors import payloads as p
from copcca.connectors.base import ConnectorContext, Page, Stream, StreamInfo
from copcca.connectors.errors import DataError, RequestError
from copcca.connectors.shopify import mapping
from copcca.connectors.shopify.client import PAGE_LIMIT, ListPage, ShopifyClient

SHOP_CURRENCY = "_shop_currency"  # added to raw products: prices are in it


class ShopifyStream(Stream):
    resource: ClassVar[str]
    filters: ClassVar[dict[str, Any]] = {}

    def __init__(self, client: ShopifyClient, page_size: int = PAGE_LIMIT) -> None:
        self.client = client
        self.page_size = page_size

    def pages(self, ctx: ConnectorContext, cursor: dict[str, Any]) -> Iterator[Page]:
        """Pages from the cursor. The next page is fetched in the background
        while the engine stores this one (one request in flight at a time,
        in order, so limits and resume work as without it)."""
        since = cursor.get("updated_at_min")
        high = cursor.get("high_water") or since
        page_info = cursor.get("page_info")
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopify-read")
        try:
            ahead = reader.submit(self._fetch, page_info, since)
            while True:
                try:
                    page = ahead.result()
                except RequestError as exc:
                    if not page_info or exc.status not in (400, 422):
                        raise
                    # An expired or unknown page_info: restart the pass where
                    # the stored pages end.
                    since, page_info = high, None
                    ahead = reader.submit(self._fetch, page_info, since)
                    continue
                done = page.next_page_info is None
                if not done:
                    ahead = reader.submit(self._fetch, page.next_page_info, since)
                items = self.prepare(page.items)
                high = _latest(high, items)
                yield Page(
                    records=items,
                    cursor={
                        "updated_at_min": high if done else since,
                        "page_info": page.next_page_info,
                        "high_water": high,
                    },
                    done=done,
                )
                if done:
                    return
                page_info = page.next_page_info
        finally:
            reader.shutdown(wait=False, cancel_futures=True)

    def _fetch(self, page_info: str | None, since: str | None) -> ListPage:
        return self.client.list_page(
            self.resource,
            page_info=page_info,
            filters=self._filters(since),
            limit=self.page_size,
        )

    def _filters(self, since: str | None) -> dict[str, Any]:
        filters = {"order": "updated_at asc", **self.filters}
        if since:
            filters["updated_at_min"] = since
        return filters

    def prepare(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return items


class CustomersStream(ShopifyStream):
    info = StreamInfo(
        "customers",
        "customers",
        "Your Shopify customers with their phone numbers, emails and addresses.",
    )
    resource = "customers"

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [mapping.customer_record(raw)]


class ProductsStream(ShopifyStream):
    info = StreamInfo(
        "products",
        "products",
        "Products and each variant (size, colour) with price, SKU and the stock "
        "Shopify counts.",
    )
    resource = "products"

    def __init__(self, client: ShopifyClient, page_size: int = PAGE_LIMIT) -> None:
        super().__init__(client, page_size)
        self._currency: str | None = None

    def prepare(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self._currency is None:
            self._currency = str(self.client.shop().get("currency") or "")
        for item in items:
            item[SHOP_CURRENCY] = self._currency
        return items

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return list(product_records(raw, ctx.currency))


class OrdersStream(ShopifyStream):
    info = StreamInfo(
        "orders",
        "sales",
        "Every order as a sale with its lines and customer; refunds and "
        "cancellations update the sale.",
    )
    resource = "orders"
    filters: ClassVar[dict[str, Any]] = {"status": "any"}  # default is open only

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [mapping.sale_record(raw)]


def product_records(raw: dict[str, Any], fallback_currency: str) -> list[Any]:
    """Product records priced in the shop's currency when we know it."""
    currency = p.currency_or(raw.get(SHOP_CURRENCY), fallback_currency)
    return list(mapping.product_records(raw, currency))


def _latest(high: str | None, items: list[dict[str, Any]]) -> str | None:
    best: datetime | None = _parse(high)
    for item in items:
        stamp = _parse(item.get("updated_at"))
        if stamp is not None and (best is None or stamp > best):
            best = stamp
    return best.isoformat() if best is not None else None


def _parse(value: Any) -> datetime | None:
    try:
        return p.timestamp(value, record="cursor", required=False)
    except DataError:
        return None


STREAMS: tuple[type[ShopifyStream], ...] = (
    CustomersStream,
    ProductsStream,
    OrdersStream,
)
