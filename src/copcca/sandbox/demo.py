"""The demo company's online shop: a sandbox Shopify store that keeps taking
orders, so a new user of ``make run`` sees live data flow.

- ``copcca serve`` in demo mode (``COPCCA_DEMO=1``) mounts the sandbox store
  at ``/sandbox/shopify`` inside the app. Its state (orders placed since
  seeding) is kept in the data dir across restarts.
- ``copcca demo`` connects the demo company to it like any shop owner would
  connect a store: the real Shopify connector, talking HTTP to the
  configured base URL. The connection is named as a sandbox everywhere.
- A job every minute (``copcca.sandbox.tasks``) turns on live updates once,
  through the same path as the "Turn on live updates" button, and places a
  new order; the store delivers it as a signed webhook to the hub, and the
  hourly sync would pick it up too.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from copcca.config import Settings
from copcca.integrations import service
from copcca.models.integrations import Integration, IntegrationStatus
from copcca.runtime import Runtime
from copcca.sandbox.delivery import WebhookSender
from copcca.sandbox.shopify.app import create_app
from copcca.sandbox.shopify.store import ShopifyStore, StoreSettings
from copcca.security.principal import Principal

log = logging.getLogger("copcca.demo")

PATH = "/sandbox/shopify"
NAME = "Online shop (sandbox Shopify)"
STORE = StoreSettings(
    name="Duka la Amina online (sandbox)",
    orders=240,
    customers=60,
)
QUIET = (IntegrationStatus.PAUSED.value, IntegrationStatus.NEEDS_RECONNECT.value)


def store_url(settings: Settings) -> str:
    return settings.base_url.rstrip("/") + PATH


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "sandbox-shopify.json"


def company_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-company"


def mount(app: Any, settings: Settings) -> ShopifyStore:
    """Serve the sandbox store inside ``app`` (demo mode only)."""
    store = ShopifyStore(StoreSettings(**STORE.__dict__), sender=WebhookSender())
    path = state_file(settings)
    if path.exists():
        try:
            store.restore(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError):
            log.warning("sandbox store state unreadable; starting from the seed")
    store.on_change = lambda changed: _save(changed, path)
    app.mount(PATH, create_app(store))
    return store


def _save(store: ShopifyStore, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(store.snapshot()))
    os.replace(tmp, path)


def connect(runtime: Runtime, actor: Principal) -> uuid.UUID:
    """Connect the demo company to the sandbox store (once)."""
    settings = runtime.settings
    company_file(settings).write_text(str(actor.company_id))
    with runtime.db.transaction(actor.company_id) as session:
        found = session.scalars(
            select(Integration).where(
                Integration.company_id == actor.company_id, Integration.name == NAME
            )
        ).first()
        if found is not None:
            return found.id
        integration = service.connect(
            session,
            actor,
            runtime.vault,
            service.NewIntegration(
                provider="shopify",
                name=NAME,
                credentials={
                    "shop_domain": STORE.shop_domain,
                    "access_token": STORE.access_token,
                    "webhook_secret": STORE.client_secret,
                    "api_base_url": store_url(settings),
                },
                frequency="realtime",
            ),
        )
        return integration.id


def tick(runtime: Runtime) -> None:
    """Once a minute in demo mode: live updates on, and a new order."""
    found = _demo_connection(runtime)
    if found is None:
        return
    company_id, integration = found
    base = store_url(runtime.settings)
    try:
        with httpx.Client(timeout=10) as client:
            _ensure_live_updates(runtime, client, base, company_id, integration)
            client.post(f"{base}/_sandbox/orders", json={}).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("demo order not placed: %s", type(exc).__name__)


def _demo_connection(runtime: Runtime) -> tuple[uuid.UUID, Integration] | None:
    try:
        company_id = uuid.UUID(company_file(runtime.settings).read_text().strip())
    except (OSError, ValueError):
        return None
    with runtime.db.transaction(company_id, write=False) as session:
        integration = session.scalars(
            select(Integration).where(
                Integration.company_id == company_id, Integration.name == NAME
            )
        ).first()
    if integration is None or integration.status in QUIET:
        return None
    return company_id, integration


def _ensure_live_updates(
    runtime: Runtime,
    client: httpx.Client,
    base: str,
    company_id: uuid.UUID,
    integration: Integration,
) -> None:
    from copcca.webhooks.inbound import subscriptions

    address = subscriptions.receiving_address(
        runtime.settings.base_url, "shopify", integration.callback_token or ""
    )
    state = client.get(f"{base}/_sandbox").json()
    if any(sub["address"] == address for sub in state.get("subscriptions", [])):
        return
    actor = Principal.system(company_id, "demo")
    subscriptions.subscribe(runtime, actor, integration.id)
