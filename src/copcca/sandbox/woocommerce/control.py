"""The sandbox shop's control API, for tests and demos (not WooCommerce's).

| call | does |
|---|---|
| ``GET /_sandbox`` | counts, webhooks, fault switches |
| ``POST /_sandbox/seed`` ``{"orders","customers","products"}`` | a fresh seeded shop |
| ``POST /_sandbox/orders`` ``{"customer_id","lines":[[product,qty]],"phone"}`` | place an order (order.created) |
| ``POST /_sandbox/orders/{id}/refund`` ``{"line_id","quantity"}`` | refund (order.updated) |
| ``POST /_sandbox/orders/{id}/status`` ``{"status"}`` | e.g. cancelled (order.updated) |
| ``POST /_sandbox/customers`` ``{"phone"}`` / ``PATCH /_sandbox/customers/{id}`` | customer.created / customer.updated |
| ``POST /_sandbox/stock`` ``{"product_id","quantity"}`` | set stock (product.updated) |
| ``POST /_sandbox/faults`` / ``DELETE /_sandbox/faults`` | fail_next, fail_status, fail_always, throttle_next, latency_ms, tamper_webhooks |
| ``POST /_sandbox/auth`` ``{"strip_authorization","revoke"}`` | emulate a host dropping the header; revoke keys |
| ``POST /_sandbox/webhooks/emit`` ``{"topic","id","hook_id"}`` | send one signed webhook now |
| ``POST /_sandbox/webhooks/{id}/ping`` | send the creation ping again |
| ``GET /_sandbox/deliveries``, ``POST /_sandbox/deliveries/{id}/redeliver`` | what was sent; resend it |
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from copcca.sandbox import control as shared
from copcca.sandbox.control import action
from copcca.sandbox.woocommerce.store import TOPIC_RESOURCE, WooStore


def state(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    return store.state()


def seed(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    store.reseed(
        int(body.get("orders", 0)),
        int(body.get("customers", 0)),
        int(body["products"]) if "products" in body else None,
    )
    return store.state()


def place(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    lines = [(int(p), int(q)) for p, q in body["lines"]] if body.get("lines") else None
    customer = int(body["customer_id"]) if body.get("customer_id") else None
    return {
        "order": store.place_order(
            customer_id=customer, lines=lines, phone=body.get("phone")
        )
    }


def refund(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    line = body.get("line_id")
    order = store.refund(
        int(request.path_params["id"]),
        line_id=int(line) if line else None,
        quantity=int(body.get("quantity", 1)),
    )
    return {"order": order}


def status(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    return {
        "order": store.set_status(int(request.path_params["id"]), str(body["status"]))
    }


def customers(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    if request.method == "PATCH":
        return {"customer": store.update_customer(int(request.path_params["id"]), body)}
    return {"customer": store.create_customer(body.get("phone"))}


def stock(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    return {"product": store.set_stock(int(body["product_id"]), int(body["quantity"]))}


def auth(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    if "strip_authorization" in body:
        store.settings.strip_authorization = bool(body["strip_authorization"])
    if body.get("revoke"):
        store.revoke(body.get("consumer_key"))
    return {"strip_authorization": store.settings.strip_authorization}


def emit(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    topic = str(body["topic"])
    payload = body.get("payload")
    if payload is None:
        payload = store.resource(TOPIC_RESOURCE[topic.split(".")[0]]).get(
            int(body["id"])
        )
        if payload is None:
            raise KeyError(f"no record {body['id']} for {topic}")
    hooks = [
        h
        for h in store.webhooks.values()
        if (body.get("hook_id") and h["id"] == int(body["hook_id"]))
        or (not body.get("hook_id") and h["topic"] == topic)
    ]
    return {"deliveries": [store.deliver(h, topic, payload).summary() for h in hooks]}


def ping(store: WooStore, request: Request, body: dict[str, Any]) -> Any:
    hook = store.webhooks[int(request.path_params["id"])]
    return {"delivery": store.ping(hook).summary()}


def routes() -> list[Route]:
    return [
        Route("/_sandbox", action(state)),
        Route("/_sandbox/seed", action(seed), methods=["POST"]),
        Route("/_sandbox/orders", action(place), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/refund", action(refund), methods=["POST"]),
        Route("/_sandbox/orders/{id:int}/status", action(status), methods=["POST"]),
        Route("/_sandbox/customers", action(customers), methods=["POST"]),
        Route("/_sandbox/customers/{id:int}", action(customers), methods=["PATCH"]),
        Route("/_sandbox/stock", action(stock), methods=["POST"]),
        Route("/_sandbox/faults", action(shared.faults), methods=["POST", "DELETE"]),
        Route("/_sandbox/auth", action(auth), methods=["POST"]),
        Route("/_sandbox/webhooks/emit", action(emit), methods=["POST"]),
        Route("/_sandbox/webhooks/{id:int}/ping", action(ping), methods=["POST"]),
        Route("/_sandbox/deliveries", action(shared.deliveries)),
        Route(
            "/_sandbox/deliveries/{id}/redeliver",
            action(shared.redeliver),
            methods=["POST"],
        ),
    ]
