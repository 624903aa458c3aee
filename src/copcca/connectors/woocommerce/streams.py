"""WooCommerce streams: customers, products, orders.

Orders and products: a *pass* reads ``orderby=id&order=asc`` pages with
``modified_after=<watermark>&dates_are_gmt=true``, page by page up to
``X-WP-TotalPages``. We sort by id, not by ``modified``: a record changed
while we page keeps its place in id order, whereas in ``modified`` order it
would jump to the end and shift the next page onto the one already read,
silently skipping a record (only a record *deleted* while we page can still
shift one out of sight; "Sync everything again" reads all). The next pass's
watermark is the shop's clock
(``Date`` header) when this pass began, less two minutes: everything
changed after we started is read again next time. Cursor::

    {"modified_after": <watermark or None>, "page": <next page>,
     "pass_started": <shop time the pass began, while it runs>}

Customers: WooCommerce has **no modified filter** for customers. We read
the full list (``orderby=id``) once a day: the page's lookups are fetched
in one go and each customer is compared with the CRM, so those that did not
change cost no write (and an older copy than the stored
``date_modified_gmt`` changes nothing). Between full passes we read only
new customers: pages of ``orderby=id&order=desc`` until we reach the
highest id already seen. Changes to existing customers arrive sooner
through the ``customer.updated`` webhook; a deletion shifting the id-ordered
pages can hide a change until the next full pass. Cursor::

    {"max_id": <highest id seen>, "full_pass_at": <last full pass start>,
     "mode": "full" | "new", "page": <next page>, "pass_started": ...}
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, ClassVar

import copcca.crm.sales  # noqa: F401  (registers the sale upserter)
from copcca.connectors import payloads as p
from copcca.connectors.base import ConnectorContext, Page, Stream, StreamInfo
from copcca.connectors.errors import DataError
from copcca.connectors.woocommerce import mapping
from copcca.connectors.woocommerce.client import ListPage, WooClient

WATERMARK_LAG = timedelta(minutes=2)
FULL_CUSTOMER_PASS_EVERY = timedelta(days=1)
SHOP_CURRENCY = "_shop_currency"


class ModifiedStream(Stream):
    """A resource WooCommerce can filter by ``modified_after``."""

    resource: ClassVar[str]
    extra: ClassVar[dict[str, Any]] = {}

    def __init__(self, client: WooClient) -> None:
        self.client = client

    def pages(self, ctx: ConnectorContext, cursor: dict[str, Any]) -> Iterator[Page]:
        since = cursor.get("modified_after")
        page = int(cursor.get("page") or 1)
        started = cursor.get("pass_started")
        while True:
            params = {"page": page, "orderby": "id", "order": "asc", **self.extra}
            if since:
                params.update(modified_after=since, dates_are_gmt="true")
            result = self.client.list_page(self.resource, params)
            if started is None:
                started = (result.server_time or ctx.clock()).isoformat()
            done = result.past_end or page >= result.total_pages
            if done:
                mark = datetime.fromisoformat(started) - WATERMARK_LAG
                next_cursor: dict[str, Any] = {
                    "modified_after": mark.strftime("%Y-%m-%dT%H:%M:%S"),
                    "page": 1,
                    "pass_started": None,
                }
            else:
                next_cursor = {
                    "modified_after": since,
                    "page": page + 1,
                    "pass_started": started,
                }
            yield Page(records=self.prepare(ctx, result), cursor=next_cursor, done=done)
            if done:
                return
            page += 1

    def prepare(self, ctx: ConnectorContext, result: ListPage) -> list[dict[str, Any]]:
        return result.items


class OrdersStream(ModifiedStream):
    info = StreamInfo(
        "orders",
        "sales",
        "Every order as a sale with its lines and customer; refunds and "
        "cancellations update the sale.",
        cursor_field="date_modified_gmt",
    )
    resource = "orders"
    extra: ClassVar[dict[str, Any]] = {"status": "any"}

    def prepare(self, ctx: ConnectorContext, result: ListPage) -> list[dict[str, Any]]:
        """Fetch refund details (refunded quantities) for partly refunded orders."""
        for order in result.items:
            if order.get("refunds") and order.get("status") != "refunded":
                order[mapping.REFUND_DETAILS] = self.client.refunds(
                    str(order.get("id"))
                )
        return result.items

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [mapping.sale_record(raw)]


class ProductsStream(ModifiedStream):
    info = StreamInfo(
        "products",
        "products",
        "Products with price, SKU and the stock WooCommerce counts (variations "
        "are counted under their product).",
        cursor_field="date_modified_gmt",
    )
    resource = "products"

    def __init__(self, client: WooClient) -> None:
        super().__init__(client)
        self._currency: str | None = None

    def prepare(self, ctx: ConnectorContext, result: ListPage) -> list[dict[str, Any]]:
        if self._currency is None:
            self._currency = self.client.currency() or ""
        for item in result.items:
            item[SHOP_CURRENCY] = self._currency
        return result.items

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [product_record(raw, ctx.currency)]


class CustomersStream(Stream):
    info = StreamInfo(
        "customers",
        "customers",
        "Registered customers with phone, email and address (guests come in "
        "with their orders).",
        cursor_field=None,
    )

    def __init__(self, client: WooClient) -> None:
        self.client = client

    def pages(self, ctx: ConnectorContext, cursor: dict[str, Any]) -> Iterator[Page]:
        state = dict(cursor)
        last_full = _time(state.get("full_pass_at"))
        if state.get("mode") not in ("full", "new"):
            due = (
                last_full is None or ctx.clock() - last_full >= FULL_CUSTOMER_PASS_EVERY
            )
            state.update(mode="full" if due else "new", page=1, pass_started=None)
        full = state["mode"] == "full"
        while True:
            params = {
                "page": state["page"],
                "orderby": "id",
                "order": "asc" if full else "desc",
            }
            result = self.client.list_page("customers", params)
            if state.get("pass_started") is None:
                state["pass_started"] = (result.server_time or ctx.clock()).isoformat()
            items = result.items
            seen = [int(i["id"]) for i in items if str(i.get("id", "")).isdigit()]
            max_id = int(state.get("max_id") or 0)
            if not full:
                items = [
                    i
                    for i in items
                    if str(i.get("id", "")).isdigit() and int(i["id"]) > max_id
                ]
            reached_known = not full and len(items) < len(result.items)
            done = (
                result.past_end or state["page"] >= result.total_pages or reached_known
            )
            state["new_max"] = max([int(state.get("new_max") or max_id), *seen])
            if done:
                state = {
                    "max_id": state["new_max"],
                    "full_pass_at": state["pass_started"]
                    if full
                    else state.get("full_pass_at"),
                }
            else:
                state["page"] += 1
            yield Page(records=items, cursor=dict(state), done=done)
            if done:
                return

    def map(self, ctx: ConnectorContext, raw: dict[str, Any]) -> list[Any]:
        return [mapping.customer_record(raw)]


def product_record(raw: dict[str, Any], fallback_currency: str) -> Any:
    """A product priced in the shop's currency when the key may read it."""
    return mapping.product_record(
        raw, p.currency_or(raw.get(SHOP_CURRENCY), fallback_currency)
    )


def _time(value: Any) -> datetime | None:
    try:
        return p.timestamp(value, record="cursor", required=False)
    except DataError:
        return None


STREAMS: tuple[type[Stream], ...] = (CustomersStream, ProductsStream, OrdersStream)
