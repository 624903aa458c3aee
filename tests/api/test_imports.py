"""Imports over the API: upload, mapping, check, start, undo; limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copcca.runtime import Runtime
from tests.helpers import api_key_for, bearer, make_company

PRODUCTS = (
    "Bidhaa\tMsimbo\tBei\tIdadi\tKiwango cha kuagiza\n"
    "Unga wa ngano 2kg\tUNGA-2KG\tKSh 210\t24\t6\n"
    "Sukari 1kg\tSUK-1KG\t1.000,50\t-3\t10\n"
)


def test_paste_products_check_and_import_over_the_api(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    created = client.post(
        "/api/v1/imports/paste",
        headers=headers,
        json={"rows": PRODUCTS, "target": "products"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert [c["field"] for c in body["columns"]] == [
        "name",
        "sku",
        "price",
        "stock",
        "reorder_level",
    ]
    job = body["id"]

    checked = client.post(f"/api/v1/imports/{job}/check", headers=headers)
    assert checked.status_code == 202
    plan = client.get(f"/api/v1/imports/{job}", headers=headers).json()["plan"]
    assert plan["created"] == 1
    assert plan["problems"] == {"negative_stock": 1}
    problems = client.get(f"/api/v1/imports/{job}/problems", headers=headers).json()
    assert problems["items"] == [
        {
            "row": 3,
            "column": "Idadi",
            "field": "stock",
            "code": "negative_stock",
            "value": "-3",
        }
    ]

    mapped = client.put(
        f"/api/v1/imports/{job}/mapping",
        headers=headers,
        json={"options": {"on_problem": {"negative_stock": "keep"}}},
    )
    assert mapped.status_code == 200
    started = client.post(f"/api/v1/imports/{job}/start", headers=headers)
    assert started.status_code == 202
    done = client.get(f"/api/v1/imports/{job}", headers=headers).json()
    assert (done["status"], done["created_count"]) == ("finished", 2)

    undone = client.post(f"/api/v1/imports/{job}/undo", headers=headers)
    assert undone.status_code == 202
    assert (
        client.get(f"/api/v1/imports/{job}", headers=headers).json()["status"]
        == "undone"
    )


def test_declared_oversize_upload_is_refused_before_reading(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))
    headers["content-length"] = str(2 * 1024**3)
    headers["content-type"] = "multipart/form-data; boundary=x"
    response = client.post("/api/v1/imports", headers=headers, content=b"--x--")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_big"
    assert (
        client.get(
            "/api/v1/imports", headers=bearer(api_key_for(runtime, tenant))
        ).json()["items"]
        == []
    )


def test_unknown_target_and_foreign_import_are_404(
    client: TestClient, runtime: Runtime
) -> None:
    tenant, other = make_company(runtime), make_company(runtime, "Other")
    headers = bearer(api_key_for(runtime, tenant))
    assert (
        client.post(
            "/api/v1/imports/paste",
            headers=headers,
            json={"rows": "a,b\n1,2\n", "target": "nope"},
        ).status_code
        == 404
    )
    created = client.post(
        "/api/v1/imports/paste",
        headers=headers,
        json={"rows": "Name,Phone\nA,0712345678\n"},
    ).json()
    foreign = bearer(api_key_for(runtime, other))
    assert (
        client.get(f"/api/v1/imports/{created['id']}", headers=foreign).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/imports/{created['id']}/start", headers=foreign
        ).status_code
        == 404
    )


def test_invoices_then_payments_pasted_over_the_api(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    headers = bearer(api_key_for(runtime, tenant))

    def paste_and_import(rows: str, target: str) -> dict[str, object]:
        created = client.post(
            "/api/v1/imports/paste",
            headers=headers,
            json={"rows": rows, "target": target},
        )
        assert created.status_code == 201, created.text
        job = created.json()["id"]
        started = client.post(f"/api/v1/imports/{job}/start", headers=headers)
        assert started.status_code == 202, started.text
        return client.get(f"/api/v1/imports/{job}", headers=headers).json()  # type: ignore[no-any-return]

    invoices = paste_and_import("Ankara\tMteja\tKiasi\nINV-7\tAmina\t900\n", "invoices")
    assert (invoices["target"], invoices["status"]) == ("invoices", "finished")
    payments = paste_and_import(
        "Tarehe\tKiasi\tNjia\tAnkara\n07/03/2025\t900\tCash\tINV-7\n", "payments"
    )
    assert payments["status"] == "finished"
    listed = client.get("/api/v1/invoices", headers=headers).json()
    [invoice] = listed["items"]
    assert (invoice["number"], invoice["status"]) == ("INV-7", "paid")
