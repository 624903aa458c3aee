"""The state of one sandbox WooCommerce shop: customers, simple products
with stock, orders with refunds, REST API keys, webhooks (each with its own
secret) and fault switches. Seeded records are generated on demand."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from copcca.sandbox.collection import LazyCollection, record_keys, seeded_keys
from copcca.sandbox.delivery import Delivery, WebhookSender
from copcca.sandbox.faults import Faults
from copcca.sandbox.people import rng
from copcca.sandbox.woocommerce import seed as s
from copcca.security.signatures import constant_time_equal, hmac_sha256_b64

TOPIC_RESOURCE = {"order": "orders", "customer": "customers", "product": "products"}


@dataclass
class ShopSettings:
    name: str = "Duka la Amina (sandbox WooCommerce)"
    home_url: str = "https://duka-la-amina.example/"
    currency: str = "KES"
    seed: int = 1
    consumer_key: str = "ck_sandbox_key"
    consumer_secret: str = "cs_sandbox_secret"  # noqa: S105  (sandbox only)
    products: int = 24
    customers: int = 0
    orders: int = 0
    strip_authorization: bool = False  # like hosts that drop the header
    retry_after: str = "5"  # what a host's 429 says


ITEM_KEYS = record_keys(
    ("modified", "date_modified_gmt"), ("date", "date_created_gmt"), s.micros
)


def index_keys(base: int, step_seconds: int, lag: bool) -> dict[str, Any]:
    return seeded_keys(
        base, step_seconds, changed="modified", created="date", created_lag=lag
    )


class WooStore:
    def __init__(
        self,
        settings: ShopSettings | None = None,
        *,
        sender: WebhookSender | None = None,
        clock: Any = None,
    ) -> None:
        self.settings = settings or ShopSettings()
        self.sender = sender or WebhookSender()
        self.faults = Faults()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.keys: dict[str, str] = {
            self.settings.consumer_key: self.settings.consumer_secret
        }
        self.revoked: set[str] = set()
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}  # changed orders only
        self._ids = itertools.count(1)
        self.reseed(
            self.settings.orders, self.settings.customers, self.settings.products
        )

    def reseed(self, orders: int, customers: int, products: int | None = None) -> None:
        with self.lock:
            self.settings.orders, self.settings.customers = orders, customers
            if products is not None:
                self.settings.products = max(1, products)
            self.products = LazyCollection(
                make=lambda i: {},
                id_base=s.PRODUCT_BASE,
                index_keys=index_keys(s.PRODUCT_BASE, 60, False),
                item_keys=ITEM_KEYS,
            )
            self._catalogue = s.catalogue(self.settings.products)
            for product in self._catalogue:
                self.products.put(copy.deepcopy(product))
            seed_no = self.settings.seed
            self.customers = LazyCollection(
                make=lambda j: s.customer(seed_no, j),
                id_base=s.CUSTOMER_BASE,
                seeded=customers,
                index_keys=index_keys(s.CUSTOMER_BASE, 60, False),
                item_keys=ITEM_KEYS,
            )
            self.orders = LazyCollection(
                make=lambda i: self._seeded(i)[0],
                id_base=s.ORDER_BASE,
                seeded=orders,
                index_keys=index_keys(s.ORDER_BASE, 20, True),
                item_keys=ITEM_KEYS,
            )
            self.refunds = {}
            self._next_order = orders + 1
            self._next_customer = customers + 1

    def _seeded(self, i: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        n = self.settings.customers
        buyer = None
        if n and i % 23:
            buyer = self.customers.get(s.CUSTOMER_BASE + 1 + (i * 7919) % n)
        return s.seeded_order(
            self.settings.seed,
            i,
            products=self._catalogue,
            buyer=buyer,
            currency=self.settings.currency,
        )

    def order_refunds(self, order_id: int) -> list[dict[str, Any]] | None:
        if order_id in self.refunds:
            return self.refunds[order_id]
        index = self.orders.index_of(order_id)
        if index is None or self.orders.get(order_id) is None:
            return None
        return self._seeded(index)[1]

    # auth ---------------------------------------------------------------------
    def authenticate(self, key: str | None, secret: str | None) -> bool:
        expected = self.keys.get(key or "")
        if expected is None or key in self.revoked:
            return False
        return constant_time_equal(expected, secret or "")

    def revoke(self, key: str | None = None) -> None:
        self.revoked |= {key} if key else set(self.keys)

    # changes --------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()  # type: ignore[no-any-return]

    def place_order(
        self,
        *,
        customer_id: int | None = None,
        lines: list[tuple[int, int]] | None = None,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """A new paid order; stock goes down. Announced as order.created."""
        with self.lock:
            number = self._next_order
            self._next_order += 1
            r = rng(self.settings.seed, "wc-placed", number)
            when = self.now()
            chosen = lines or [
                (
                    int(self._catalogue[r.randrange(len(self._catalogue))]["id"]),
                    1 + r.randrange(2),
                )
                for _ in range(1 + r.randrange(2))
            ]
            items, changed = [], []
            for n, (product_id, qty) in enumerate(chosen):
                product = copy.deepcopy(self._product(product_id))
                items.append(s.line(s.LINE_BASE + number * 4 + n, product, qty))
                if product["manage_stock"]:
                    product["stock_quantity"] -= qty
                    product.update(s.dates("date_modified", when))
                    self.products.put(product)
                    changed.append(product)
            buyer = self.customers.get(customer_id) if customer_id else None
            billing = (
                buyer["billing"]
                if buyer
                else s.contact(self.settings.seed, 2_000_000 + number, None, phone)
            )
            order = s.order_payload(
                order_id=s.ORDER_BASE + number,
                created=when,
                modified=when,
                currency=self.settings.currency,
                lines=items,
                customer_id=buyer["id"] if buyer else 0,
                billing=billing,
            )
            self.orders.put(order)
            self.refunds[order["id"]] = []
        self.announce("order.created", order)
        for product in changed:
            self.announce("product.updated", product)
        return order

    def _product(self, product_id: int) -> dict[str, Any]:
        product = self.products.get(product_id)
        if product is None:
            raise KeyError(f"no product {product_id}")
        return product

    def refund(
        self, order_id: int, *, line_id: int | None = None, quantity: int = 1
    ) -> dict[str, Any]:
        with self.lock:
            found = self.orders.get(order_id)
            if found is None:
                raise KeyError(f"no order {order_id}")
            order = copy.deepcopy(found)
            refunds = list(self.order_refunds(order_id) or [])
            item = next(li for li in order["line_items"] if line_id in (None, li["id"]))
            when = self.now()
            refunds.append(
                s.refund({**order, "refunds": refunds}, item, quantity, when)
            )
            order["refunds"] = [
                {"id": x["id"], "reason": x["reason"], "total": f"-{x['amount']}"}
                for x in refunds
            ]
            refunded = sum(Decimal(x["amount"]) for x in refunds)
            if refunded >= Decimal(order["total"]):
                order["status"] = "refunded"
            order.update(s.dates("date_modified", when))
            self.orders.put(order)
            self.refunds[order_id] = refunds
        self.announce("order.updated", order)
        return order

    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        with self.lock:
            found = self.orders.get(order_id)
            if found is None:
                raise KeyError(f"no order {order_id}")
            order = {**copy.deepcopy(found), "status": status}
            order.update(s.dates("date_modified", self.now()))
            self.refunds.setdefault(order_id, list(self.order_refunds(order_id) or []))
            self.orders.put(order)
        self.announce("order.updated", order)
        return order

    def update_customer(
        self, customer_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            found = self.customers.get(customer_id)
            if found is None:
                raise KeyError(f"no customer {customer_id}")
            customer = {**copy.deepcopy(found), **changes}
            customer.update(s.dates("date_modified", self.now()))
            self.customers.put(customer)
        self.announce("customer.updated", customer)
        return customer

    def create_customer(self, phone: str | None = None) -> dict[str, Any]:
        with self.lock:
            j = self._next_customer
            self._next_customer += 1
            customer = s.customer(self.settings.seed, j)
            when = self.now()
            customer.update(
                {**s.dates("date_created", when), **s.dates("date_modified", when)}
            )
            if phone:
                customer["billing"]["phone"] = phone
            self.customers.put(customer)
        self.announce("customer.created", customer)
        return customer

    def set_stock(self, product_id: int, quantity: int) -> dict[str, Any]:
        with self.lock:
            product = copy.deepcopy(self._product(product_id))
            product.update(manage_stock=True, stock_quantity=quantity)
            product.update(s.dates("date_modified", self.now()))
            self.products.put(product)
        self.announce("product.updated", product)
        return product

    # webhooks -------------------------------------------------------------------
    def add_webhook(
        self, topic: str, delivery_url: str, secret: str, name: str = ""
    ) -> dict[str, Any]:
        with self.lock:
            hook_id = next(self._ids)
            when = self.now()
            hook = {
                "id": hook_id,
                "name": name or f"Webhook {hook_id}",
                "status": "active",
                "topic": topic,
                "resource": topic.split(".")[0],
                "event": topic.split(".")[1],
                "delivery_url": delivery_url,
                "secret": secret,
                **s.dates("date_created", when),
                **s.dates("date_modified", when),
            }
            self.webhooks[hook_id] = hook
        self.ping(hook)
        return hook

    def ping(self, hook: dict[str, Any]) -> Delivery:
        """WooCommerce's creation ping: form body, no signature."""
        body = f"webhook_id={hook['id']}".encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "WooCommerce/9.0 Hookshot (WordPress/6.5)",
        }
        return self.sender.send("ping", hook["delivery_url"], body, headers)

    def announce(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        hooks = [
            h
            for h in list(self.webhooks.values())
            if h["topic"] == topic and h["status"] == "active"
        ]
        return [self.deliver(h, topic, payload) for h in hooks]

    def deliver(
        self, hook: dict[str, Any], topic: str, payload: dict[str, Any]
    ) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac_sha256_b64(str(hook["secret"]).encode(), body)
        if self.faults.tamper_webhooks:
            body = body[:-1] + b',"tampered":true}'
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/9.0 Hookshot (WordPress/6.5)",
            "X-WC-Webhook-Source": self.settings.home_url,
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(hook["id"]),
            "X-WC-Webhook-Delivery-ID": self.delivery_id(hook),
        }
        return self.sender.send(topic, str(hook["delivery_url"]), body, headers)

    def delivery_id(self, hook: dict[str, Any]) -> str:
        """As ``WC_Webhook::get_new_delivery_id``: a hash of the webhook id and
        the time in whole seconds, so two deliveries of one webhook in the
        same second share it."""
        stamp = int(self.now().timestamp())
        return hashlib.md5(
            f"{hook['id']}{stamp}".encode(), usedforsecurity=False
        ).hexdigest()

    def resource(self, name: str) -> LazyCollection:
        return {
            "orders": self.orders,
            "customers": self.customers,
            "products": self.products,
        }[name]

    def state(self) -> dict[str, Any]:
        return {
            "orders": len(self.orders),
            "customers": len(self.customers),
            "products": len(self.products),
            "currency": self.settings.currency,
            "webhooks": [
                {k: v for k, v in h.items() if k != "secret"}
                for h in self.webhooks.values()
            ],
            "faults": self.faults.snapshot(),
            "strip_authorization": self.settings.strip_authorization,
        }
