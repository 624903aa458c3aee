"""The sandbox store's control API, for tests and the demo (not Shopify's).

| call | does |
|---|---|
| ``GET /_sandbox`` | counts, subscriptions, fault switches |
| ``POST /_sandbox/seed`` ``{"orders","customers","products"}`` | a fresh seeded store |
| ``POST /_sandbox/orders`` ``{"customer_id","new_customer","lines":[[variant,qty]],"phone"}`` | place an order (orders/create) |
| ``POST /_sandbox/orders/{id}/refund`` ``{"line_item_id","quantity"}`` | refund and restock (orders/updated) |
| ``POST /_sandbox/orders/{id}/cancel`` | cancel (orders/cancelled, orders/updated) |
| ``PATCH /_sandbox/customers/{id}`` | change a customer (customers/update) |
| ``POST /_sandbox/inventory`` ``{"variant_id","quantity"}`` | set stock (products/update) |
| ``POST /_sandbox/faults`` / ``DELETE /_sandbox/faults`` | fail_next, fail_status, fail_always, throttle_next, latency_ms, tamper_webhooks |
| ``POST /_sandbox/bucket`` ``{"enabled","size","rate","retry_after"}`` | the REST call limit |
| ``POST /_sandbox/tokens`` ``{"expiring"}`` / ``.../revoke`` / ``.../expire`` | access tokens |
| ``POST /_sandbox/webhooks/emit`` ``{"topic","id","address","triggered_at"}`` | send one signed webhook |
| ``GET /_sandbox/deliveries``, ``POST /_sandbox/deliveries/{id}/redeliver`` | what was sent; resend the same bytes |
| ``POST /_sandbox/uninstall`` | revoke tokens and send app/uninstalled |
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from copcca.sandbox import control as shared
from copcca.sandbox.control import action
from copcca.sandbox.shopify.store import ShopifyStore

RESOURCE_OF_TOPIC = {
    "orders": "orders",
    "customers": "customers",
    "products": "products",
}


def state(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    return store.state()


def seed(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    store.reseed(
        int(body.get("orders", 0)),
        int(body.get("customers", 0)),
        int(body["products"]) if "products" in body else None,
    )
    return store.state()


def place(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    lines = [(int(v), int(q)) for v, q in body["lines"]] if body.get("lines") else None
    order = store.place_order(
        customer_id=int(body["customer_id"]) if body.get("customer_id") else None,
        new_customer=bool(body.get("new_customer")),
        lines=lines,
        phone=body.get("phone"),
    )
    return {"order": order}


def refund(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    line = body.get("line_item_id")
    order = store.refund(
        int(request.path_params["id"]),
        line_item_id=int(line) if line else None,
        quantity=int(body.get("quantity", 1)),
    )
    return {"order": order}


def cancel(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    return {"order": store.cancel(int(request.path_params["id"]))}


def customer(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    return {"customer": store.update_customer(int(request.path_params["id"]), body)}


def inventory(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    product = store.set_inventory(int(body["variant_id"]), int(body["quantity"]))
    return {"product": product}


def bucket(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    if "enabled" in body:
        store.bucket.enabled = bool(body["enabled"])
    if "size" in body:
        store.bucket.size = int(body["size"])
    if "rate" in body:
        store.bucket.rate = float(body["rate"])
    if "retry_after" in body:
        store.settings.retry_after = str(body["retry_after"])
    return store.state()["bucket"]


def tokens(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    action = request.path_params.get("action")
    if action == "revoke":
        store.revoke(body.get("token"))
    elif action == "expire":
        store.expire(str(body["token"]))
    elif action is None:
        token = store.add_token(
            "shpat_" + secrets.token_hex(16), expiring=bool(body.get("expiring"))
        )
        return {"access_token": token.value, "refresh_token": token.refresh_token}
    else:
        raise ValueError(f"unknown token action {action!r}")
    return {"ok": True}


def emit(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    """Send one webhook now, with the resource's current payload."""
    topic = str(body["topic"])
    payload = body.get("payload")
    if payload is None:
        collection = store.resource(RESOURCE_OF_TOPIC[topic.split("/")[0]])
        payload = collection.get(int(body["id"]))
        if payload is None:
            raise KeyError(f"no record {body['id']} for {topic}")
    when = (
        datetime.fromisoformat(body["triggered_at"])
        if body.get("triggered_at")
        else None
    )
    addresses = (
        [body["address"]]
        if body.get("address")
        else [
            sub["address"]
            for sub in store.subscriptions.values()
            if sub["topic"] == topic
        ]
    )
    sent = [store.deliver(topic, payload, a, triggered_at=when) for a in addresses]
    return {"deliveries": [d.summary() for d in sent]}


def uninstall(store: ShopifyStore, request: Request, body: dict[str, Any]) -> Any:
    store.uninstall()
    return {"ok": True}


def routes() -> list[Route]:
    return [
        Route("/_sandbox", action(state)),
        Route("/_sandbox/seed", action(seed), methods=["POST"]),
        Route("/_sandbox/orders", action(place), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/refund", action(refund), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/cancel", action(cancel), methods=["POST"]),
        Route("/_sandbox/customers/{id:int}", action(customer), methods=["PATCH"]),
        Route("/_sandbox/inventory", action(inventory), methods=["POST"]),
        Route("/_sandbox/faults", action(shared.faults), methods=["POST", "DELETE"]),
        Route("/_sandbox/bucket", action(bucket), methods=["POST"]),
        Route("/_sandbox/tokens", action(tokens), methods=["POST"]),
        Route("/_sandbox/tokens/{action}", action(tokens), methods=["POST"]),
        Route("/_sandbox/webhooks/emit", action(emit), methods=["POST"]),
        Route("/_sandbox/deliveries", action(shared.deliveries)),
        Route(
            "/_sandbox/deliveries/{id}/redeliver",
            action(shared.redeliver),
            methods=["POST"],
        ),
        Route("/_sandbox/uninstall", action(uninstall), methods=["POST"]),
    ]
