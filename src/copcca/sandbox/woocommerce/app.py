"""The sandbox WooCommerce shop as an ASGI app (REST API v3).

``/wp-json/wc/v3/orders|products|customers`` list and read by id;
``/orders/{id}/refunds``; ``/settings/general/woocommerce_currency``;
``/webhooks`` (creating one sends WooCommerce's unsigned ``webhook_id=N``
ping). Lists page like WooCommerce: ``page`` (≥ 1), ``per_page`` (1-100,
default 10), ``offset``, ``order`` (default desc), ``orderby`` (orders and
products: ``date`` default, ``id``, ``modified``; customers: ``id``,
``registered_date``; ``name``/``title`` are refused by the sandbox), with
``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` header; a page past the
end is a 400 ``woocommerce_rest_invalid_page_number``. Orders and products
filter by ``modified_after``/``modified_before``/``after``/``before``
(``dates_are_gmt``) and ``status``; customers have no date filter, as in
WooCommerce. Auth: HTTP Basic ``ck:cs`` or ``consumer_key``/
``consumer_secret`` in the query. Control API: ``/_sandbox/...``
(``control.py``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from copcca.sandbox.collection import Bound
from copcca.sandbox.woocommerce import control
from copcca.sandbox.woocommerce import seed as s
from copcca.sandbox.woocommerce.store import WooStore

PREFIX = "/wp-json/wc/v3"
ORDERBY = {
    "orders": {"date": "date", "id": "id", "modified": "modified"},
    "products": {"date": "date", "id": "id", "modified": "modified"},
    "customers": {"id": "id", "registered_date": "date"},
}
UNSUPPORTED = frozenset({"name", "title", "slug", "include", "include_slugs"})
DEFAULT_ORDERBY = {"orders": "date", "products": "date", "customers": "name"}
ORDER_STATUSES = frozenset(
    {
        "any",
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
        "trash",
        "checkout-draft",
    }
)


def reply(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return Response(raw, status, headers=headers, media_type="application/json")


def error(code: str, message: str, status: int, **data: Any) -> Response:
    return reply(
        {"code": code, "message": message, "data": {"status": status, **data}}, status
    )


def store_of(request: Request) -> WooStore:
    return request.app.state.store  # type: ignore[no-any-return]


def guard(request: Request) -> Response | None:
    """Faults first, then the REST API key (Basic auth or query string)."""
    store = store_of(request)
    failure = store.faults.next_failure()
    if failure == 429:
        retry = store.settings.retry_after
        return Response(b"Too Many Requests", 429, headers={"Retry-After": retry})
    if failure is not None:
        return error(
            "internal_server_error", "There has been a critical error.", failure
        )
    key, secret = _credentials(request, store)
    if key is None:
        return error(
            "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401
        )
    if not store.authenticate(key, secret):
        return error(
            "woocommerce_rest_authentication_error", "Consumer key is invalid.", 401
        )
    return None


def _credentials(request: Request, store: WooStore) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic ") and not store.settings.strip_authorization:
        try:
            key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return key, secret
    query = request.query_params
    if "consumer_key" in query:
        return query["consumer_key"], query.get("consumer_secret")
    return None, None


def listing(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    resource = request.path_params["resource"]
    if resource not in ORDERBY:
        return error("rest_no_route", "No route was found matching the URL.", 404)
    try:
        params = _params(request, resource)
    except ValueError as exc:
        name = str(exc)
        return error(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            params={name: f"{name} is not valid"},
        )
    store = store_of(request)
    with store.lock:
        total, items = _select(store, resource, params)
    pages = math.ceil(total / params["per_page"]) if total else 0
    if params["offset"] is None and params["page"] > max(pages, 1):
        return error(
            "woocommerce_rest_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
            400,
        )
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = _links(request, params["page"], pages)
    if links:
        headers["Link"] = ", ".join(links)
    return reply(items, headers=headers)


def _params(request: Request, resource: str) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for name, default, low, high in (("page", 1, 1, 10**9), ("per_page", 10, 1, 100)):
        try:
            out[name] = int(q.get(name, default))
        except ValueError:
            raise ValueError(name) from None
        if not low <= out[name] <= high:
            raise ValueError(name)
    out["offset"] = int(q["offset"]) if q.get("offset", "").isdigit() else None
    out["order"] = q.get("order", "desc")
    if out["order"] not in ("asc", "desc"):
        raise ValueError("order")
    orderby = q.get("orderby", DEFAULT_ORDERBY[resource])
    if orderby in UNSUPPORTED:
        raise ValueError(f"orderby ({orderby} is not offered by the sandbox; use id)")
    if orderby not in ORDERBY[resource]:
        raise ValueError("orderby")
    out["mode"] = ORDERBY[resource][orderby]
    gmt = q.get("dates_are_gmt", "false").lower() in ("1", "true")
    out["bounds"] = []
    if resource != "customers":
        for mode, after, before in (
            ("modified", "modified_after", "modified_before"),
            ("date", "after", "before"),
        ):
            start, end = (
                _time(q.get(after), gmt, after),
                _time(q.get(before), gmt, before),
            )
            if start is not None or end is not None:
                out["bounds"].append(
                    (
                        mode,
                        Bound((start, 2**63), strict=True)
                        if start is not None
                        else None,
                        Bound((end, -1), strict=True) if end is not None else None,
                    )
                )
        status = q.get("status", "any")
        if resource == "orders" and any(
            x not in ORDER_STATUSES for x in status.split(",")
        ):
            raise ValueError("status")
        out["status"] = None if status == "any" else set(status.split(","))
    else:
        out["status"] = None
    out["include"] = {
        int(x) for x in q.get("include", "").split(",") if x.strip().isdigit()
    }
    return out


def _time(value: str | None, gmt: bool, name: str) -> int | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(name) from None
    if when.tzinfo is not None:
        when = when.replace(tzinfo=None) + (when.utcoffset() or timedelta(0))
    elif not gmt:
        when -= s.LOCAL  # a local time: compare with the shop's clock
    return s.micros(when.isoformat())


def _select(store: WooStore, resource: str, p: dict[str, Any]) -> tuple[int, list[Any]]:
    def match(item: dict[str, Any]) -> bool:
        if p["status"] is not None and item.get("status") not in p["status"]:
            return False
        return not p["include"] or int(item["id"]) in p["include"]

    selection = store.resource(resource).select(
        p["mode"], bounds=p["bounds"], match=match
    )
    start = p["offset"] if p["offset"] is not None else (p["page"] - 1) * p["per_page"]
    reverse = p["order"] == "desc"
    if p["status"] is None and not p["include"]:
        return selection.count(), selection.page(start, p["per_page"], reverse=reverse)
    # Filters that seeded records can fail: a scan (fine for a sandbox).
    matched = [
        i
        for i in (selection.backward() if reverse else selection.forward())
        if match(i)
    ]
    return len(matched), matched[start : start + p["per_page"]]


def _links(request: Request, page: int, pages: int) -> list[str]:
    out = []
    for rel, number in (("prev", page - 1), ("next", page + 1)):
        if 1 <= number <= pages:
            query = dict(request.query_params)
            query["page"] = str(number)
            out.append(f'<{request.url.replace(query=urlencode(query))}>; rel="{rel}"')
    return out


def one(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    resource = request.path_params["resource"]
    if resource not in ORDERBY:
        return error("rest_no_route", "No route was found matching the URL.", 404)
    item = store_of(request).resource(resource).get(int(request.path_params["id"]))
    if item is None:
        return error(f"woocommerce_rest_{resource[:-1]}_invalid_id", "Invalid ID.", 404)
    return reply(item)


def refunds(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    found = store_of(request).order_refunds(int(request.path_params["id"]))
    if found is None:
        return error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
    return reply(found, headers={"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"})


def setting(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    if request.path_params["id"] != "woocommerce_currency":
        return error("rest_setting_setting_invalid", "Invalid setting.", 404)
    return reply(
        {
            "id": "woocommerce_currency",
            "label": "Currency",
            "value": store_of(request).settings.currency,
            "type": "select",
        }
    )


async def webhooks(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    store = store_of(request)
    if request.method == "GET":
        hooks = [
            {k: v for k, v in h.items() if k != "secret"}
            for h in store.webhooks.values()
        ]
        return reply(
            hooks, headers={"X-WP-Total": str(len(hooks)), "X-WP-TotalPages": "1"}
        )
    try:
        body = await request.json()
        topic, url = str(body["topic"]), str(body["delivery_url"])
    except (ValueError, KeyError, TypeError):
        return error(
            "rest_missing_callback_param",
            "Missing parameter(s): topic, delivery_url",
            400,
        )
    if topic.split(".")[0] not in ("order", "customer", "product") or "." not in topic:
        return error("rest_invalid_param", "Invalid parameter(s): topic", 400)
    hook = await run_in_threadpool(
        store.add_webhook,
        topic,
        url,
        str(body.get("secret") or ""),
        str(body.get("name") or ""),
    )
    return reply({k: v for k, v in hook.items() if k != "secret"}, 201)


def webhook_delete(request: Request) -> Response:
    refused = guard(request)
    if refused is not None:
        return refused
    hook = store_of(request).webhooks.pop(int(request.path_params["id"]), None)
    if hook is None:
        return error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    return reply({k: v for k, v in hook.items() if k != "secret"})


def create_app(store: WooStore | None = None) -> Starlette:
    """A sandbox WooCommerce shop (a new default one unless given)."""
    app = Starlette(
        routes=[
            Route(f"{PREFIX}/webhooks", webhooks, methods=["GET", "POST"]),
            Route(f"{PREFIX}/webhooks/{{id:int}}", webhook_delete, methods=["DELETE"]),
            Route(f"{PREFIX}/settings/general/{{id}}", setting),
            Route(f"{PREFIX}/orders/{{id:int}}/refunds", refunds),
            Route(f"{PREFIX}/{{resource}}/{{id:int}}", one),
            Route(f"{PREFIX}/{{resource}}", listing),
            *control.routes(),
        ]
    )
    app.state.store = store or WooStore()
    return app
