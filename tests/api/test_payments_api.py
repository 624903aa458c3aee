"""The payments and invoices API: create an invoice, import a statement,
work the review queue, request a payment; admins only; other companies'
payments are 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copcca.models.tenancy import Role
from copcca.runtime import Runtime
from tests.helpers import api_key_for, bearer, make_company

STATEMENT = (
    "Receipt No.,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Other Party Info,A/C No.\n"
    "SC1AB2CD3E,{when},Pay Bill,Completed,700.00,,254712345678 - WANJIKU,WRONGREF\n"
)


def _when() -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Africa/Nairobi")) + timedelta(minutes=1)).strftime(
        "%d-%m-%Y %H:%M:%S"
    )


def test_invoice_statement_review_and_confirm_over_the_api(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    made = client.post(
        "/api/v1/invoices",
        json={
            "customer_name": "Wanjiku",
            "customer_phone": "0712345678",
            "amount_minor": 70_000,
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    invoice = made.json()
    assert (
        invoice["number"],
        invoice["payment_reference"],
        invoice["balance_minor"],
    ) == (
        "INV-0001",
        "INV0001",
        70_000,
    )
    mpesa = client.post(
        "/api/v1/integrations",
        json={
            "provider": "mpesa",
            "credentials": {
                "shortcode": "174379",
                "consumer_key": "k",
                "consumer_secret": "s",
            },
        },
        headers=headers,
    ).json()

    imported = client.post(
        f"/api/v1/integrations/{mpesa['id']}/mpesa/statement",
        files={
            "file": (
                "statement.csv",
                STATEMENT.format(when=_when()).encode(),
                "text/csv",
            )
        },
        headers=headers,
    )

    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == 1
    queue = client.get("/api/v1/payments/review", headers=headers).json()["items"]
    [item] = queue
    assert item["payment"]["amount_minor"] == 70_000
    assert item["candidates"][0]["reasons"] == [
        "phone_customer",
        "only_open_invoice",
        "date_window",
        "amount_exact",
    ]
    confirmed = client.post(
        f"/api/v1/payments/{item['payment']['id']}/confirm",
        json={"rank": 1},
        headers=headers,
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["applied_to"] == [
        {
            "invoice_id": invoice["id"],
            "invoice_number": "INV-0001",
            "amount_minor": 70_000,
        }
    ]
    assert (
        client.get(f"/api/v1/invoices/{invoice['id']}", headers=headers).json()[
            "status"
        ]
        == "paid"
    )
    again = client.post(
        f"/api/v1/payments/{item['payment']['id']}/confirm",
        json={"rank": 1},
        headers=headers,
    )
    assert again.status_code == 409


def test_members_cannot_see_payments_and_others_get_404(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    other = make_company(runtime, "Other")
    admin = bearer(api_key_for(runtime, tenant))
    member = bearer(api_key_for(runtime, tenant, Role.MEMBER))
    outsider = bearer(api_key_for(runtime, other))
    assert client.get("/api/v1/payments", headers=member).status_code == 403
    assert client.get("/api/v1/payments", headers=admin).json() == {"items": []}
    made = client.post(
        "/api/v1/invoices",
        json={"customer_name": "A", "amount_minor": 100},
        headers=admin,
    ).json()
    assert (
        client.get(f"/api/v1/invoices/{made['id']}", headers=outsider).status_code
        == 404
    )


def test_threshold_setting_is_validated(client: TestClient, runtime: Runtime) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    assert client.get("/api/v1/payments/settings", headers=headers).json() == {
        "auto_match_threshold": 70
    }
    bad = client.patch(
        "/api/v1/payments/settings", json={"auto_match_threshold": 10}, headers=headers
    )
    assert bad.status_code == 422
    ok = client.patch(
        "/api/v1/payments/settings", json={"auto_match_threshold": 90}, headers=headers
    )
    assert ok.json() == {"auto_match_threshold": 90}


def test_an_invoice_due_date_is_text_not_a_number(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    body = {"customer_name": "Wanjiku", "amount_minor": 70_000}
    for number in (1767225600, -7.25):
        refused = client.post(
            "/api/v1/invoices", json={**body, "due_at": number}, headers=headers
        )
        assert refused.status_code == 422
        assert "as text" in refused.text
    made = client.post(
        "/api/v1/invoices",
        json={**body, "due_at": "2026-12-31T17:00:00+03:00"},
        headers=headers,
    )
    assert made.status_code == 201
    assert made.json()["due_at"].startswith("2026-12-31T14:00:00")
