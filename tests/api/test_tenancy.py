"""Promises T4 and T5: another company's ids answer 404 on every API route
and page, lists never contain them, and tenant identity never comes from
client input."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.models.integrations import SyncStatus
from copcca.models.sync import SyncRun
from copcca.models.tenancy import ApiKey, Membership
from copcca.runtime import Runtime
from copcca.sync.logs import finish_log, start_log
from tests.helpers import api_key_for, bearer, login, make_company, page_csrf

SHOPIFY = {
    "provider": "shopify",
    "credentials": {"shop_domain": "a.myshopify.com", "access_token": "shpat_A"},
}
MPESA = {
    "provider": "mpesa",
    "credentials": {"shortcode": "174379", "consumer_key": "k", "consumer_secret": "s"},
}


@dataclass
class Seeded:
    ids: dict[str, str]  # path parameter name -> company A's id
    all_ids: set[str]


def seed_company_a(client: TestClient, runtime: Runtime) -> tuple[Seeded, str]:
    a = make_company(runtime, "Company A")
    token = api_key_for(runtime, a)
    headers = bearer(token)
    shop = client.post("/api/v1/integrations", json=SHOPIFY, headers=headers).json()
    mpesa = client.post("/api/v1/integrations", json=MPESA, headers=headers).json()
    imported = client.post(
        "/api/v1/imports/paste",
        json={"rows": "Name,Phone\nAmina,0712345678\n"},
        headers=headers,
    ).json()
    with runtime.db.transaction(a.company_id) as session:
        log = start_log(
            session,
            a.company_id,
            provider="shopify",
            integration_id=uuid.UUID(shop["id"]),
        )
        finish_log(
            log, status=SyncStatus.SUCCESS, message="Synced 3 orders.", created=3
        )
        session.flush()
        run = SyncRun(
            company_id=a.company_id,
            integration_id=uuid.UUID(shop["id"]),
            status="succeeded",
            log_id=log.id,
        )
        session.add(run)
        session.flush()
        log_id = str(log.id)
        run_id = str(run.id)
        key_id = str(
            session.scalars(
                select(ApiKey.id).where(ApiKey.company_id == a.company_id)
            ).first()
        )
        membership_id = str(
            session.scalars(
                select(Membership.id).where(Membership.company_id == a.company_id)
            ).first()
        )
    invoice_id, payment_id, request_id = seed_payments(runtime, a, mpesa["id"])
    ids = {
        "invoice_id": invoice_id,
        "payment_id": payment_id,
        "request_id": request_id,
        "integration_id": shop["id"],
        "log_id": log_id,
        "run_id": run_id,
        "key_id": key_id,
        "membership_id": membership_id,
        "import_id": imported["id"],
        "job_id": imported["id"],
    }
    all_ids = set(ids.values()) | {mpesa["id"], str(a.company_id), str(a.user_id)}
    all_ids |= {i.replace("-", "") for i in all_ids}
    return Seeded(ids, all_ids), a.email


def seed_payments(
    runtime: Runtime, tenant: object, mpesa_id: str
) -> tuple[str, str, str]:
    """An invoice, a payment waiting for review and a held callback of A."""
    from copcca.crm.invoices import NewInvoice, create_invoice
    from copcca.crm.payments import record_payment
    from copcca.crm.records import PaymentRecord
    from copcca.db.base import utcnow
    from copcca.models.payments import PaymentRequest
    from copcca.models.tenancy import Company
    from copcca.reconcile.service import reconcile

    company_id = tenant.company_id  # type: ignore[attr-defined]
    with runtime.db.transaction(company_id) as session:
        company = session.get(Company, company_id)
        assert company is not None
        invoice = create_invoice(
            session,
            tenant.principal,  # type: ignore[attr-defined]
            company,
            NewInvoice(customer_name="A's customer", amount_minor=5000),
        )
        payment = record_payment(
            session,
            company,
            PaymentRecord(
                "mpesa", "SAAAAAAAA1", 700, "KES", utcnow(), account_reference="?"
            ),
        ).payment
        reconcile(session, company, payment)
        held = PaymentRequest(
            company_id=company_id,
            integration_id=uuid.UUID(mpesa_id),
            provider="mpesa",
            origin="notice",
            reference="SAAAAAAAA2",
            amount_minor=900,
            currency="KES",
            status="needs_review",
            review_reason="unverified",
            claimed={},
            checks=0,
        )
        session.add(held)
        session.flush()
        return str(invoice.id), str(payment.id), str(held.id)


def page_routes(app: object) -> list[tuple[str, set[str]]]:
    """Every (path, methods) the app serves, through included routers."""
    found: list[tuple[str, set[str]]] = []
    for route in app.routes:  # type: ignore[attr-defined]
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                methods = getattr(ctx.original_route, "methods", None) or set()
                found.append((ctx.path, set(methods)))
        elif getattr(route, "methods", None):
            found.append((route.path, set(route.methods)))
    return found


NOT_IDS = {"provider", "key", "code", "locale", "target", "fmt"}


def _fill(path: str, seeded: Seeded) -> str | None:
    names = re.findall(r"{(\w+)}", path)
    for name in names:
        if name in NOT_IDS:
            return None
        assert name in seeded.ids, (
            f"route {path} takes '{name}': add it to seed_company_a so T4 covers it"
        )
        path = path.replace("{" + name + "}", seeded.ids[name])
    return path


def test_every_api_route_answers_404_to_another_company(
    client: TestClient, runtime: Runtime
) -> None:
    seeded, _email = seed_company_a(client, runtime)
    b = make_company(runtime, "Company B")
    headers = bearer(api_key_for(runtime, b))
    spec = client.get("/api/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method in operations:
            if "{" in path:
                filled = _fill(path, seeded)
                if filled is None:
                    continue
                body = {} if method in ("post", "patch", "put") else None
                response = client.request(
                    method.upper(), filled, headers=headers, json=body
                )
                assert response.status_code == 404, (method, path, response.text)
                checked += 1
            elif method == "get":
                response = client.get(path, headers=headers)
                assert response.status_code == 200, (path, response.text)
                leaked = [i for i in seeded.all_ids if i in response.text]
                assert leaked == [], (path, leaked)
                checked += 1
    assert checked >= 8


def test_every_page_answers_404_to_another_company(
    client: TestClient, runtime: Runtime
) -> None:
    seeded, _email = seed_company_a(client, runtime)
    b = make_company(runtime, "Company B")
    login(client, b.email)
    csrf = page_csrf(client)
    checked = 0
    for path, methods in page_routes(client.app):  # type: ignore[attr-defined]
        if not path.startswith("/app"):
            continue
        if "{" not in path:
            if "GET" in methods:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                leaked = [i for i in seeded.all_ids if i in response.text]
                assert leaked == [], (path, leaked)
                checked += 1
            continue
        filled = _fill(path, seeded)
        if filled is None:
            continue
        for method in sorted(methods & {"GET", "POST"}):
            data = {"csrf_token": csrf, "action": "pause", "role": "member"}
            response = client.request(
                method,
                filled,
                data=data if method == "POST" else None,
                follow_redirects=False,
            )
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked >= 10


def test_company_id_from_header_query_or_body_is_ignored(
    client: TestClient, runtime: Runtime
) -> None:
    seeded, _email = seed_company_a(client, runtime)
    a_company = next(
        i for i in seeded.all_ids if len(i) == 36 and i not in seeded.ids.values()
    )
    b = make_company(runtime, "Company B")
    headers = {
        **bearer(api_key_for(runtime, b)),
        "X-Tenant-ID": a_company,
        "X-Company-ID": a_company,
    }

    listed = client.get(f"/api/v1/integrations?company_id={a_company}", headers=headers)
    created = client.post(
        "/api/v1/integrations",
        json={**SHOPIFY, "company_id": a_company},
        headers=headers,
    )
    me = client.get("/api/v1/me", headers=headers)

    assert listed.json()["items"] == []
    assert created.status_code == 422  # unknown field refused, nothing written
    assert me.json()["company_id"] == str(b.company_id)
    assert client.get("/api/v1/integrations", headers=headers).json()["items"] == []


@pytest.mark.parametrize("path", ["/api/v1/integrations", "/api/v1/sync-logs"])
def test_session_cookie_for_company_b_cannot_read_a(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    seeded, _email = seed_company_a(client, runtime)
    b = make_company(runtime, "Company B")
    login(client, b.email)
    response = client.get(path)
    assert response.status_code == 200
    assert [i for i in seeded.all_ids if i in response.text] == []


def test_forged_session_cookie_with_other_company_prefix_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    seeded, email = seed_company_a(client, runtime)
    b = make_company(runtime, "Company B")
    login(client, b.email)
    cookie = client.cookies.get("copcca_session")
    _company, _, token = cookie.partition(".")
    a_company = next(
        i
        for i in seeded.all_ids
        if len(i) == 32 and i not in {v.replace("-", "") for v in seeded.ids.values()}
    )
    client.cookies.set("copcca_session", f"{a_company}.{token}")
    assert client.get("/api/v1/integrations").status_code == 401
    del email
