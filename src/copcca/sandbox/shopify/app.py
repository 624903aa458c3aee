"""The sandbox Shopify store as an ASGI app.

Admin REST API (``/admin/api/{version}/...``): ``shop``, ``customers``,
``products``, ``orders`` (list and by id) and ``webhooks``. Lists page like
Shopify's: ``limit`` ≤ 250, a ``Link`` header whose ``page_info`` URLs keep
only ``limit`` and ``fields`` (the filters travel inside the cursor), and a
``page_info`` request that adds any other parameter is refused with 400.
Sort with ``order=updated_at asc|desc``, ``created_at asc|desc`` or
``id asc|desc`` (default ``id asc``); filter with ``updated_at_min/max``,
``created_at_min/max``, ``since_id``, ``ids`` and, for orders, ``status``
(default ``open``). Every call passes the fault switches, the access token
check (401) and the leaky bucket (429 + ``Retry-After: 2.0`` +
``X-Shopify-Shop-Api-Call-Limit``).

OAuth: ``/admin/oauth/authorize`` approves at once and redirects with a
signed ``hmac``; ``/admin/oauth/access_token`` trades codes and refresh
tokens. Control API for tests and the demo: ``/_sandbox/...`` (see
``control.py``).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from copcca.sandbox.collection import Bound
from copcca.sandbox.shopify import control
from copcca.sandbox.shopify import seed as s
from copcca.sandbox.shopify.store import ITEM_KEYS, ShopifyStore

MAX_LIMIT = 250
ORDERS = {
    "updated_at asc": ("updated", False),
    "updated_at desc": ("updated", True),
    "created_at asc": ("created", False),
    "created_at desc": ("created", True),
    "id asc": ("id", False),
    "id desc": ("id", True),
}
FILTERS = (
    "updated_at_min",
    "updated_at_max",
    "created_at_min",
    "created_at_max",
    "since_id",
    "ids",
    "status",
)
WEBHOOK_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "customers/create",
        "customers/update",
        "products/create",
        "products/update",
        "app/uninstalled",
    }
)


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def reply(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(dumps(body), status, headers=headers, media_type="application/json")


def store_of(request: Request) -> ShopifyStore:
    return request.app.state.store  # type: ignore[no-any-return]


def guard(request: Request) -> Response | dict[str, str]:
    """Faults, token and rate limit. Headers to add, or the refusal."""
    store = store_of(request)
    failure = store.faults.next_failure()
    retry = {"Retry-After": store.settings.retry_after}
    if failure == 429:
        return reply(
            {"errors": "Exceeded 2 calls per second for api client."},
            429,
            {**retry, "X-Shopify-Shop-Api-Call-Limit": "40/40"},
        )
    if failure is not None:
        return reply({"errors": "Internal Server Error"}, failure)
    token = request.headers.get("x-shopify-access-token")
    if not store.token_ok(token):
        return reply(
            {
                "errors": "[API] Invalid API key or access token "
                "(unrecognized login or wrong password)"
            },
            401,
        )
    level = store.bucket.take(str(token))
    size = store.bucket.size
    if level is None:
        return reply(
            {
                "errors": "Exceeded 2 calls per second for api client. Reduce request "
                "rates to resume uninterrupted service."
            },
            429,
            {**retry, "X-Shopify-Shop-Api-Call-Limit": f"{size}/{size}"},
        )
    return {"X-Shopify-Shop-Api-Call-Limit": f"{level}/{size}"}


def shop(request: Request) -> Response:
    headers = guard(request)
    if isinstance(headers, Response):
        return headers
    st = store_of(request).settings
    return reply(
        {
            "shop": {
                "id": 1,
                "name": st.name,
                "email": "owner@duka-la-amina.test",
                "domain": st.shop_domain,
                "myshopify_domain": st.shop_domain,
                "currency": st.currency,
                "iana_timezone": "Africa/Nairobi",
                "country_code": "KE",
                "plan_name": "sandbox",
            }
        },
        headers=headers,
    )


def one(request: Request) -> Response:
    headers = guard(request)
    if isinstance(headers, Response):
        return headers
    resource = request.path_params["resource"]
    if resource not in ("orders", "customers", "products"):
        return reply({"errors": "Not Found"}, 404)
    try:
        item = store_of(request).resource(resource).get(int(request.path_params["id"]))
    except ValueError:
        item = None
    if item is None:
        return reply({"errors": "Not Found"}, 404, headers)
    return reply({resource[:-1]: item}, headers=headers)


def listing(request: Request) -> Response:
    headers = guard(request)
    if isinstance(headers, Response):
        return headers
    resource = request.path_params["resource"]
    if resource not in ("orders", "customers", "products"):
        return reply({"errors": "Not Found"}, 404, headers)
    query = request.query_params
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        return reply({"errors": {"limit": "must be between 1 and 250"}}, 400, headers)
    try:
        state = _state(query, resource)
    except ValueError as exc:
        return reply({"errors": {"page_info": str(exc)}}, 400, headers)
    items, more = _page(store_of(request), resource, state, limit)
    links = _links(request, state, items, more, limit)
    if links:
        headers["Link"] = ", ".join(links)
    fields = [f for f in query.get("fields", "").split(",") if f]
    if fields:
        items = [{k: v for k, v in item.items() if k in fields} for item in items]
    return reply({resource: items}, headers=headers)


def _state(query: Any, resource: str) -> dict[str, Any]:
    """The listing's sort, filters and position, from a cursor or the query."""
    if "page_info" in query:
        extra = set(query.keys()) - {"limit", "page_info", "fields"}
        if extra:
            raise ValueError(
                f"page_info cannot be combined with {', '.join(sorted(extra))}; "
                "only limit and fields are allowed."
            )
        try:
            raw = base64.urlsafe_b64decode(query["page_info"].encode() + b"==")
            state: dict[str, Any] = json.loads(raw)
            state["key"] = tuple(state["key"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError("Invalid value.") from exc
        return state
    order = query.get("order", "id asc").strip().lower()
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    filters = {k: query[k] for k in FILTERS if k in query}
    if resource == "orders":
        filters.setdefault("status", "open")
    else:
        filters.pop("status", None)
    return {"order": order, "filters": filters, "dir": "next", "key": None}


def _bounds(filters: dict[str, Any]) -> list[tuple[str, Bound | None, Bound | None]]:
    """Key limits the filters imply (binary searches instead of scans)."""
    out: list[tuple[str, Bound | None, Bound | None]] = []
    for name, mode in (("updated_at", "updated"), ("created_at", "created")):
        low = filters.get(f"{name}_min")
        high = filters.get(f"{name}_max")
        if low or high:
            out.append(
                (
                    mode,
                    Bound((s.micros(low), -1)) if low else None,
                    Bound((s.micros(high), 2**63)) if high else None,
                )
            )
    if filters.get("since_id"):
        out.append(("id", Bound((int(filters["since_id"]),), strict=True), None))
    return out


def _page(
    store: ShopifyStore, resource: str, state: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], bool]:
    mode, desc = ORDERS[state["order"]]
    match = _matcher(state["filters"])
    backwards = state["dir"] == "prev"
    reverse = desc != backwards
    bounds = _bounds(state["filters"])
    if state["key"] is not None:
        after = Bound(tuple(state["key"]), strict=True)
        bounds.append((mode, None, after) if reverse else (mode, after, None))
    with store.lock:
        selection = store.resource(resource).select(mode, bounds=bounds, match=match)
        items: list[dict[str, Any]] = []
        for item in selection.backward() if reverse else selection.forward():
            if not match(item):
                continue
            if len(items) == limit:
                return (items[::-1] if backwards else items), True
            items.append(item)
    return (items[::-1] if backwards else items), False


def _matcher(filters: dict[str, Any]) -> Any:
    checks: list[Any] = []
    for name, field_ in (("updated_at", "updated_at"), ("created_at", "created_at")):
        if f"{name}_min" in filters:
            low = s.micros(filters[f"{name}_min"])
            checks.append(lambda i, f=field_, low=low: s.micros(i[f]) >= low)
        if f"{name}_max" in filters:
            high = s.micros(filters[f"{name}_max"])
            checks.append(lambda i, f=field_, high=high: s.micros(i[f]) <= high)
    if "since_id" in filters:
        since = int(filters["since_id"])
        checks.append(lambda i: int(i["id"]) > since)
    if "ids" in filters:
        wanted = {int(x) for x in str(filters["ids"]).split(",") if x.strip()}
        checks.append(lambda i: int(i["id"]) in wanted)
    status = filters.get("status")
    if status == "open":
        checks.append(lambda i: not i.get("cancelled_at") and not i.get("closed_at"))
    elif status == "cancelled":
        checks.append(lambda i: bool(i.get("cancelled_at")))
    elif status == "closed":
        checks.append(lambda i: bool(i.get("closed_at")))
    return lambda item: all(check(item) for check in checks)


def _links(
    request: Request,
    state: dict[str, Any],
    items: list[dict[str, Any]],
    more: bool,
    limit: int,
) -> list[str]:
    if not items:
        return []
    mode, _desc = ORDERS[state["order"]]
    key_of = ITEM_KEYS[mode]
    backwards = state["dir"] == "prev"
    has_next = more if not backwards else True
    has_prev = state["key"] is not None and (more if backwards else True)
    fields = request.query_params.get("fields")
    out = []
    for rel, wanted, item in (
        ("previous", has_prev, items[0]),
        ("next", has_next, items[-1]),
    ):
        if not wanted:
            continue
        cursor = {
            "order": state["order"],
            "filters": state["filters"],
            "dir": "prev" if rel == "previous" else "next",
            "key": list(key_of(item)),
        }
        token = base64.urlsafe_b64encode(dumps(cursor)).decode().rstrip("=")
        params = {"limit": limit, "page_info": token}
        if fields:
            params["fields"] = fields
        url = request.url.replace(query=urlencode(params))
        out.append(f'<{url}>; rel="{rel}"')
    return out


async def webhooks(request: Request) -> Response:
    headers = guard(request)
    if isinstance(headers, Response):
        return headers
    store = store_of(request)
    if request.method == "GET":
        subs = [
            sub
            for sub in store.subscriptions.values()
            if request.query_params.get("address") in (None, sub["address"])
            and request.query_params.get("topic") in (None, sub["topic"])
        ]
        return reply({"webhooks": subs}, headers=headers)
    try:
        hook = (await request.json())["webhook"]
        topic, address = str(hook["topic"]), str(hook["address"])
    except (ValueError, KeyError, TypeError):
        return reply({"errors": {"webhook": ["is required"]}}, 400, headers)
    if topic not in WEBHOOK_TOPICS:
        return reply({"errors": {"topic": ["Invalid topic specified."]}}, 422, headers)
    if not address.startswith(("https://", "http://")):
        return reply({"errors": {"address": ["is not a valid URL"]}}, 422, headers)
    if any(
        sub["topic"] == topic and sub["address"] == address
        for sub in store.subscriptions.values()
    ):
        return reply(
            {"errors": {"address": ["for this topic has already been taken"]}},
            422,
            headers,
        )
    return reply({"webhook": store.subscribe(topic, address)}, 201, headers)


def webhook_delete(request: Request) -> Response:
    headers = guard(request)
    if isinstance(headers, Response):
        return headers
    removed = store_of(request).subscriptions.pop(int(request.path_params["id"]), None)
    if removed is None:
        return reply({"errors": "Not Found"}, 404, headers)
    return reply({}, headers=headers)


def authorize(request: Request) -> Response:
    """Approve at once (a sandbox has no login) and redirect back, signed."""
    store = store_of(request)
    query = request.query_params
    if query.get("client_id") != store.settings.client_id:
        return reply({"errors": "Invalid client_id"}, 400)
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://", "https://")):
        return reply({"errors": "Invalid redirect_uri"}, 400)
    params = {
        "code": store.issue_code(),
        "host": base64.b64encode(
            f"{store.settings.shop_domain}/admin".encode()
        ).decode(),
        "shop": store.settings.shop_domain,
        "state": query.get("state", ""),
        "timestamp": str(int(time.time())),
    }
    params["hmac"] = store.sign_query(params)
    return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=302)


async def access_token(request: Request) -> Response:
    store = store_of(request)
    if request.headers.get("content-type", "").startswith("application/json"):
        form = {k: str(v) for k, v in (await request.json()).items()}
    else:
        form = {k: str(v) for k, v in (await request.form()).items()}
    body = store.exchange(form)
    if body is None:
        return reply(
            {
                "error": "invalid_request",
                "error_description": "The authorization code was not found or was "
                "already used",
            },
            400,
        )
    return reply(body)


def create_app(store: ShopifyStore | None = None) -> Starlette:
    """A sandbox Shopify store (a new default one unless given)."""
    api = "/admin/api/{version}"
    app = Starlette(
        routes=[
            Route(f"{api}/shop.json", shop),
            Route(f"{api}/webhooks.json", webhooks, methods=["GET", "POST"]),
            Route(
                f"{api}/webhooks/{{id:int}}.json", webhook_delete, methods=["DELETE"]
            ),
            Route(f"{api}/{{resource}}/{{id:int}}.json", one),
            Route(f"{api}/{{resource}}.json", listing),
            Route("/admin/oauth/authorize", authorize),
            Route("/admin/oauth/access_token", access_token, methods=["POST"]),
            *control.routes(),
        ]
    )
    app.state.store = store or ShopifyStore()
    return app
