"""Connected systems over the API: create, read, change, delete; secrets
write-only; plain errors for bad input."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copcca.models.tenancy import Role
from copcca.runtime import Runtime
from tests.helpers import api_key_for, bearer, make_company

SHOPIFY = {
    "provider": "shopify",
    "credentials": {
        "shop_domain": "duka.myshopify.com",
        "access_token": "shpat_CANARY_SECRET_1234",
    },
}


def test_create_integration_seals_secret_and_never_returns_it(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))

    created = client.post("/api/v1/integrations", json=SHOPIFY, headers=headers)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["provider"] == "shopify"
    assert body["status"] == "saved"
    assert body["config"] == {"shop_domain": "duka.myshopify.com"}
    assert body["credentials_set"] == ["access_token"]
    assert "CANARY" not in created.text
    shown = client.get(f"/api/v1/integrations/{body['id']}", headers=headers)
    assert shown.status_code == 200
    assert "CANARY" not in shown.text
    listed = client.get("/api/v1/integrations", headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    assert "CANARY" not in listed.text


def test_missing_credential_is_a_plain_422_and_writes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))

    response = client.post(
        "/api/v1/integrations",
        json={"provider": "shopify", "credentials": {"shop_domain": "x.myshopify.com"}},
        headers=headers,
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["message"] == "credentials.access_token: This is required."
    assert client.get("/api/v1/integrations", headers=headers).json()["items"] == []


def test_unknown_provider_is_422(client: TestClient, runtime: Runtime) -> None:
    tenant = make_company(runtime)
    response = client.post(
        "/api/v1/integrations",
        json={"provider": "nope", "credentials": {}},
        headers=bearer(api_key_for(runtime, tenant)),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert "Unknown value" in response.json()["message"]


def test_patch_replaces_one_secret_keeps_others_and_pauses(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    created = client.post(
        "/api/v1/integrations",
        json={
            **SHOPIFY,
            "credentials": {**SHOPIFY["credentials"], "webhook_secret": "whs"},
        },
        headers=headers,
    ).json()

    patched = client.patch(
        f"/api/v1/integrations/{created['id']}",
        json={
            "name": "Online shop",
            "paused": True,
            "credentials": {"access_token": "new"},
        },
        headers=headers,
    )

    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Online shop"
    assert body["credentials_set"] == ["access_token", "webhook_secret"]
    assert body["config"] == {"shop_domain": "duka.myshopify.com"}


def test_duplicate_name_is_409(client: TestClient, runtime: Runtime) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    assert (
        client.post("/api/v1/integrations", json=SHOPIFY, headers=headers).status_code
        == 201
    )

    again = client.post("/api/v1/integrations", json=SHOPIFY, headers=headers)

    assert again.status_code == 409
    assert "already have a connection called 'Shopify'" in again.json()["message"]


def test_delete_then_get_is_404(client: TestClient, runtime: Runtime) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    created = client.post("/api/v1/integrations", json=SHOPIFY, headers=headers).json()

    assert (
        client.delete(
            f"/api/v1/integrations/{created['id']}", headers=headers
        ).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/integrations/{created['id']}", headers=headers).status_code
        == 404
    )


def test_member_key_cannot_connect_or_see_payments(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    admin = bearer(api_key_for(runtime, tenant, Role.ADMIN))
    member = bearer(api_key_for(runtime, tenant, Role.MEMBER))
    mpesa = {
        "provider": "mpesa",
        "credentials": {
            "shortcode": "174379",
            "consumer_key": "ck",
            "consumer_secret": "cs",
        },
    }
    made = client.post("/api/v1/integrations", json=mpesa, headers=admin)
    assert made.status_code == 201, made.text

    denied = client.post(
        "/api/v1/integrations", json={**mpesa, "name": "Till 2"}, headers=member
    )

    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert (
        client.get(
            f"/api/v1/integrations/{made.json()['id']}", headers=member
        ).status_code
        == 403
    )
    assert client.get("/api/v1/integrations", headers=member).json()["items"] == []
    assert len(client.get("/api/v1/integrations", headers=admin).json()["items"]) == 1


def test_providers_catalogue_lists_sixteen(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    response = client.get(
        "/api/v1/providers", headers=bearer(api_key_for(runtime, tenant))
    )
    items = response.json()["items"]
    assert len(items) == 16
    assert {i["category"] for i in items} == {
        "pos",
        "accounting",
        "communication",
        "ecommerce",
        "payments",
    }
    mpesa = next(i for i in items if i["key"] == "mpesa")
    secret_fields = {f["name"] for f in mpesa["config_fields"] if f["secret"]}
    assert secret_fields == {
        "consumer_key",
        "consumer_secret",
        "passkey",
        "security_credential",
    }


def test_no_credentials_is_401(client: TestClient, runtime: Runtime) -> None:
    response = client.get("/api/v1/integrations")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
