"""Sign in with Shopify through the connect wizard, against the sandbox
store's OAuth endpoints over real HTTP: the redirect carries a signed
``hmac`` that we check, the code is traded for a token that is sealed, and
a tampered redirect is refused with nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from copcca.integrations.credentials import open_secrets
from copcca.models.integrations import Integration
from copcca.runtime import Runtime
from copcca.sandbox.server import serving
from copcca.sandbox.shopify.app import create_app
from copcca.sandbox.shopify.store import ShopifyStore
from tests.helpers import Tenant, login, make_company, page_csrf

FORM = "/app/integrations/connect/shopify"


@pytest.fixture
def shop(runtime: Runtime) -> Iterator[tuple[ShopifyStore, str]]:
    store = ShopifyStore()
    runtime.settings = runtime.settings.model_copy(
        update={
            "shopify_client_id": store.settings.client_id,
            "shopify_client_secret": SecretStr(store.settings.client_secret),
        }
    )
    with serving(create_app(store)) as url:
        yield store, url


@pytest.fixture
def owner(client: TestClient, runtime: Runtime) -> Tenant:
    tenant = make_company(runtime)
    login(client, tenant.email)
    return tenant


def to_shopify(client: TestClient, store: ShopifyStore, url: str) -> dict[str, str]:
    """Start the sign-in; follow Shopify's approval; the callback's query."""
    start = client.post(
        f"{FORM}/oauth",
        data={
            "csrf_token": page_csrf(client, FORM),
            "cfg_shop_domain": store.settings.shop_domain,
            "cfg_api_base_url": url,
        },
        follow_redirects=False,
    )
    assert start.status_code == 303, start.text
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    assert approved.status_code == 302
    back = urlsplit(approved.headers["location"])
    assert back.path == "/app/integrations/oauth/shopify/callback"
    return dict(parse_qsl(back.query))


def test_sign_in_with_shopify_connects_with_a_sealed_token(
    client: TestClient, runtime: Runtime, shop: tuple[ShopifyStore, str], owner: Tenant
) -> None:
    store, url = shop
    assert "Continue to Shopify" in client.get(FORM).text

    params = to_shopify(client, store, url)
    done = client.get(
        "/app/integrations/oauth/shopify/callback",
        params=params,
        follow_redirects=False,
    )

    assert done.status_code == 303, done.text
    with runtime.db.transaction(owner.company_id, write=False) as session:
        [row] = session.scalars(select(Integration)).all()
        secrets = open_secrets(runtime.vault, row)
    assert row.status == "connected"
    assert "access_token" not in row.config
    assert store.token_ok(secrets["access_token"])


def test_a_tampered_redirect_is_refused_and_nothing_is_saved(
    client: TestClient, runtime: Runtime, shop: tuple[ShopifyStore, str], owner: Tenant
) -> None:
    store, url = shop
    params = to_shopify(client, store, url)
    params["shop"] = "someone-else.myshopify.com"  # the hmac no longer matches

    refused = client.get("/app/integrations/oauth/shopify/callback", params=params)

    assert refused.status_code in (400, 401, 422)
    assert "could not be verified" in refused.text
    with runtime.db.transaction(owner.company_id, write=False) as session:
        assert session.scalars(select(Integration)).all() == []


def test_without_app_credentials_only_the_token_form_is_offered(
    client: TestClient, owner: Tenant
) -> None:
    page = client.get(FORM).text
    assert "Continue to Shopify" not in page
    assert "Admin API access token" in page
