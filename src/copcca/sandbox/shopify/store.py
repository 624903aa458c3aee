"""The state of one sandbox Shopify store: customers, products with
variants and inventory, orders with refunds and cancellations, access
tokens, webhook subscriptions, and the faults a test switches on.

Seeded records are generated on demand (``seed.py``); changes live in a
small overlay (``LazyCollection``). Every change that Shopify would
announce is delivered, signed, to the subscribed addresses.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from copcca.sandbox.collection import LazyCollection, record_keys, seeded_keys
from copcca.sandbox.delivery import Delivery, WebhookSender
from copcca.sandbox.faults import Faults, LeakyBucket
from copcca.sandbox.people import rng
from copcca.sandbox.shopify import seed as s
from copcca.security.signatures import (
    constant_time_equal,
    hmac_sha256_b64,
    hmac_sha256_hex,
)

API_VERSION = "2025-07"
TOKEN_TTL = 3600


@dataclass
class Token:
    value: str
    expires_at: float | None = None  # expiring offline tokens
    refresh_token: str | None = None
    revoked: bool = False


@dataclass
class StoreSettings:
    shop_domain: str = "duka-la-amina.myshopify.com"
    name: str = "Duka la Amina (sandbox)"
    currency: str = "KES"
    seed: int = 1
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"  # noqa: S105  (sandbox only)
    access_token: str = "shpat_sandbox_token"  # noqa: S105
    products: int = 24
    customers: int = 0
    orders: int = 0
    retry_after: str = "2.0"
    extra: dict[str, Any] = field(default_factory=dict)


ITEM_KEYS = record_keys(("updated", "updated_at"), ("created", "created_at"), s.micros)


def _seeded_keys(base: int, step: timedelta, lag: bool) -> dict[str, Any]:
    seconds = int(step.total_seconds())
    return seeded_keys(
        base, seconds, changed="updated", created="created", created_lag=lag
    )


class ShopifyStore:
    def __init__(
        self,
        settings: StoreSettings | None = None,
        *,
        sender: WebhookSender | None = None,
        clock: Any = None,
    ) -> None:
        self.settings = settings or StoreSettings()
        self.sender = sender or WebhookSender()
        self.faults = Faults()
        self.bucket = LeakyBucket()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, str] = {}  # OAuth code -> shop
        self.subscriptions: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.reseed(
            self.settings.orders, self.settings.customers, self.settings.products
        )
        self.add_token(self.settings.access_token)
        # Called after every change, under the lock (the demo saves state).
        self.on_change: Callable[[ShopifyStore], None] | None = None

    # seeding ------------------------------------------------------------------
    def reseed(self, orders: int, customers: int, products: int | None = None) -> None:
        """Replace everything with a freshly seeded store."""
        seed_no = self.settings.seed
        with self.lock:
            self.settings.orders, self.settings.customers = orders, customers
            if products is not None:
                self.settings.products = max(1, products)
            self.products = LazyCollection(
                make=lambda i: {},
                id_base=s.PRODUCT_BASE,
                index_keys=_seeded_keys(s.PRODUCT_BASE, s.CUSTOMER_STEP, False),
                item_keys=ITEM_KEYS,
            )
            for product in s.catalogue(self.settings.products):
                self.products.put(product)
            self._product_list = [
                self.products.overlay[k] for k in sorted(self.products.overlay)
            ]
            self.customers = LazyCollection(
                make=lambda j: s.customer(seed_no, j),
                id_base=s.CUSTOMER_BASE,
                seeded=customers,
                index_keys=_seeded_keys(s.CUSTOMER_BASE, s.CUSTOMER_STEP, False),
                item_keys=ITEM_KEYS,
            )
            self.orders = LazyCollection(
                make=self._seeded_order,
                id_base=s.ORDER_BASE,
                seeded=orders,
                index_keys=_seeded_keys(s.ORDER_BASE, s.ORDER_STEP, True),
                item_keys=ITEM_KEYS,
            )
            self._next_order = orders + 1
            self._next_customer = customers + 1

    def _seeded_order(self, i: int) -> dict[str, Any]:
        n = self.settings.customers
        buyer = None
        if n and i % 23 and i % 101:
            buyer = self.customers.get(s.CUSTOMER_BASE + 1 + (i * 7919) % n)
        return s.seeded_order(
            self.settings.seed,
            i,
            products=self._catalogue(),
            buyer=buyer,
            currency=self.settings.currency,
        )

    def _catalogue(self) -> list[dict[str, Any]]:
        # Seeded orders use the catalogue as first seeded, so an order's lines
        # never change when stock or prices change later.
        return self._product_list

    # tokens and OAuth -----------------------------------------------------------
    def add_token(self, value: str, *, expiring: bool = False) -> Token:
        token = Token(value)
        if expiring:
            token.expires_at = time.time() + TOKEN_TTL
            token.refresh_token = "shprt_" + secrets.token_hex(16)
        self.tokens[value] = token
        return token

    def token_ok(self, value: str | None) -> bool:
        token = self.tokens.get(value or "")
        if token is None or token.revoked:
            return False
        return token.expires_at is None or token.expires_at > time.time()

    def expire(self, value: str) -> None:
        if value in self.tokens:
            self.tokens[value].expires_at = time.time() - 1

    def revoke(self, value: str | None = None) -> None:
        for token in self.tokens.values():
            if value is None or token.value == value:
                token.revoked = True

    def sign_query(self, params: dict[str, str]) -> str:
        message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        return hmac_sha256_hex(self.settings.client_secret.encode(), message.encode())

    def issue_code(self) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = self.settings.shop_domain
        return code

    def exchange(self, form: dict[str, str]) -> dict[str, Any] | None:
        """The access-token endpoint: a code or a refresh token for tokens."""
        if not (
            constant_time_equal(form.get("client_id", ""), self.settings.client_id)
            and constant_time_equal(
                form.get("client_secret", ""), self.settings.client_secret
            )
        ):
            return None
        expiring = form.get("expiring") == "1"
        if form.get("grant_type") == "refresh_token":
            old = next(
                (
                    t
                    for t in self.tokens.values()
                    if t.refresh_token == form.get("refresh_token")
                ),
                None,
            )
            if old is None:
                return None
            old.refresh_token, old.revoked = None, True  # rotation: single use
            expiring = True
        elif self.codes.pop(form.get("code", ""), None) is None:
            return None
        token = self.add_token("shpua_" + secrets.token_hex(16), expiring=expiring)
        body: dict[str, Any] = {"access_token": token.value, "scope": "read_orders"}
        if token.refresh_token:
            body.update(expires_in=TOKEN_TTL, refresh_token=token.refresh_token)
        return body

    # changes ------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()  # type: ignore[no-any-return]

    def place_order(
        self,
        *,
        customer_id: int | None = None,
        new_customer: bool = False,
        lines: list[tuple[int, int]] | None = None,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """A new order (stock goes down); announced as orders/create."""
        with self.lock:
            number = self._next_order
            self._next_order += 1
            r = rng(self.settings.seed, "placed", number)
            when = self.now()
            buyer, created_customer = self._buyer(
                customer_id, new_customer, number, phone
            )
            items = []
            chosen = lines or [
                (self._random_variant(r), 1 + r.randrange(2))
                for _ in range(1 + r.randrange(2))
            ]
            touched: dict[int, dict[str, Any]] = {}
            for n, (variant_id, qty) in enumerate(chosen):
                product, variant = self._variant(variant_id, touched)
                items.append(
                    s.line_item(s.LINE_BASE + number * 4 + n, product, variant, qty)
                )
                if variant.get("inventory_management") == "shopify":
                    variant["inventory_quantity"] -= qty
                    variant["updated_at"] = product["updated_at"] = s.stamp(when)
            order = s.order_payload(
                order_id=s.ORDER_BASE + number,
                number=1000 + number,
                created=when,
                updated=when,
                currency=self.settings.currency,
                lines=items,
                buyer=buyer,
                guest=None if buyer else {"phone": phone, "email": None},
            )
            self.orders.put(order)
            self._changed()
            stock_changed = [
                p for p in touched.values() if p["updated_at"] == s.stamp(when)
            ]
            for product in stock_changed:
                self.products.put(product)
        if created_customer is not None:
            self.announce("customers/create", created_customer)
        self.announce("orders/create", order)
        for product in stock_changed:
            self.announce("products/update", product)
        return order

    def _buyer(
        self, customer_id: int | None, new: bool, number: int, phone: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if customer_id is not None:
            return self.customers.get(customer_id), None
        if new or not self.settings.customers:
            j = self._next_customer
            self._next_customer += 1
            created = s.customer(self.settings.seed, j)
            when = s.stamp(self.now())
            created.update(created_at=when, updated_at=when)
            if phone:
                created["phone"] = phone
            self.customers.put(created)
            return created, created
        r = rng(self.settings.seed, "buyer", number)
        return self.customers.get(
            s.CUSTOMER_BASE + 1 + r.randrange(self.settings.customers)
        ), None

    def _random_variant(self, r: Any) -> int:
        product = self._product_list[r.randrange(len(self._product_list))]
        return int(product["variants"][r.randrange(len(product["variants"]))]["id"])

    def _variant(
        self, variant_id: int, copies: dict[int, dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A product copy (kept in ``copies``) and its variant, to change and
        put back: the stored product is never changed in place."""
        product_id = s.PRODUCT_BASE + (variant_id - s.VARIANT_BASE) // 10
        if product_id not in copies:
            stored = self.products.get(product_id)
            if stored is None:
                raise KeyError(f"no variant {variant_id}")
            copies[product_id] = copy.deepcopy(stored)
        product = copies[product_id]
        for variant in product["variants"]:
            if variant["id"] == variant_id:
                return product, variant
        raise KeyError(f"no variant {variant_id}")

    def refund(
        self, order_id: int, *, line_item_id: int | None = None, quantity: int = 1
    ) -> dict[str, Any]:
        """Refund (and restock) part of an order; announced as orders/updated."""
        with self.lock:
            order = self._editable_order(order_id)
            line = next(
                (li for li in order["line_items"] if line_item_id in (None, li["id"])),
                None,
            )
            if line is None:
                raise KeyError(f"order {order_id} has no line {line_item_id}")
            when = self.now()
            order["refunds"].append(s.refund(order, line, quantity, when))
            s.apply_refund_status(order)
            order["updated_at"] = s.stamp(when)
            self.orders.put(order)
            self._changed()
        self.announce("orders/updated", order)
        return order

    def cancel(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            order = self._editable_order(order_id)
            when = self.now()
            order.update(
                cancelled_at=s.stamp(when),
                cancel_reason="customer",
                financial_status="voided",
                updated_at=s.stamp(when),
            )
            self.orders.put(order)
            self._changed()
        self.announce("orders/cancelled", order)
        self.announce("orders/updated", order)
        return order

    def _editable_order(self, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"no order {order_id}")
        return copy.deepcopy(order)

    def update_customer(
        self, customer_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            found = self.customers.get(customer_id)
            if found is None:
                raise KeyError(f"no customer {customer_id}")
            customer = {
                **copy.deepcopy(found),
                **changes,
                "updated_at": s.stamp(self.now()),
            }
            self.customers.put(customer)
            self._changed()
        self.announce("customers/update", customer)
        return customer

    def set_inventory(self, variant_id: int, quantity: int) -> dict[str, Any]:
        with self.lock:
            product, variant = self._variant(variant_id, {})
            when = s.stamp(self.now())
            variant.update(inventory_quantity=quantity, updated_at=when)
            product["updated_at"] = when
            self.products.put(product)
            self._changed()
        self.announce("products/update", product)
        return product

    def uninstall(self) -> None:
        """The owner removed our app: tokens die, app/uninstalled is sent."""
        self.revoke()
        self.announce(
            "app/uninstalled",
            {"id": 1, "name": self.settings.name, "domain": self.settings.shop_domain},
        )

    # webhooks -----------------------------------------------------------------
    def subscribe(self, topic: str, address: str) -> dict[str, Any]:
        with self.lock:
            sub_id = next(self._ids)
            sub = {
                "id": sub_id,
                "topic": topic,
                "address": address,
                "format": "json",
                "api_version": API_VERSION,
                "created_at": s.stamp(self.now()),
                "updated_at": s.stamp(self.now()),
            }
            self.subscriptions[sub_id] = sub
            return sub

    def announce(self, topic: str, payload: dict[str, Any]) -> list[Delivery]:
        """Deliver ``topic`` to every subscribed address."""
        addresses = [
            sub["address"]
            for sub in list(self.subscriptions.values())
            if sub["topic"] == topic
        ]
        return [self.deliver(topic, payload, address) for address in addresses]

    def deliver(
        self,
        topic: str,
        payload: dict[str, Any],
        address: str,
        *,
        triggered_at: datetime | None = None,
    ) -> Delivery:
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac_sha256_b64(self.settings.client_secret.encode(), body)
        if self.faults.tamper_webhooks:
            body = body[:-1] + b',"tampered":true}'  # valid JSON, other bytes
        when = triggered_at or self.now()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": self.settings.shop_domain,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": when.isoformat().replace("+00:00", "Z"),
        }
        return self.sender.send(topic, address, body, headers)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def snapshot(self) -> dict[str, Any]:
        """What changed since seeding, to keep across restarts."""
        st = self.settings
        return {
            "seed": [st.seed, st.orders, st.customers, st.products],
            "next": [self._next_order, self._next_customer],
            "orders": list(self.orders.overlay.values()),
            "customers": list(self.customers.overlay.values()),
            "products": list(self.products.overlay.values()),
        }

    def restore(self, data: dict[str, Any]) -> bool:
        """Put back a snapshot taken from a store seeded the same way."""
        st = self.settings
        if data.get("seed") != [st.seed, st.orders, st.customers, st.products]:
            return False
        with self.lock:
            for name in ("products", "customers", "orders"):
                for item in data.get(name, []):
                    self.resource(name).put(item)
            self._next_order, self._next_customer = data["next"]
        return True

    def resource(self, name: str) -> LazyCollection:
        return {
            "orders": self.orders,
            "customers": self.customers,
            "products": self.products,
        }[name]

    def state(self) -> dict[str, Any]:
        return {
            "shop_domain": self.settings.shop_domain,
            "currency": self.settings.currency,
            "orders": len(self.orders),
            "customers": len(self.customers),
            "products": len(self.products),
            "subscriptions": list(self.subscriptions.values()),
            "faults": self.faults.snapshot(),
            "bucket": {
                "enabled": self.bucket.enabled,
                "size": self.bucket.size,
                "rate": self.bucket.rate,
            },
        }
