"""The Import Center pages, driven as a browser without JavaScript would."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from copcca.models.crm import Customer
from copcca.runtime import Runtime
from tests.helpers import login, make_company, page_csrf

CSV = (
    b"Name,Phone,Email,City,Balance\n"
    b'Wanjiku Kamau,0712 345 678,wanjiku@example.com,Nairobi,"KSh 1,500"\n'
    b"Otieno,2.54712E+11,,Kisumu,200\n"
    b"Halima,+255 754 123 456,,Dar es Salaam,TSh 20000/=\n"
)


def _job_url(response_url: str) -> str:
    match = re.search(r"/app/integrations/import/([0-9a-f-]{36})", response_url)
    assert match, response_url
    return match.group(0)


def test_upload_map_check_fix_import_and_undo_without_javascript(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    center = client.get("/app/integrations/import")
    assert center.status_code == 200
    assert "No imports yet" in center.text
    token = page_csrf(client, "/app/integrations/import")

    sent = client.post(
        "/app/integrations/import/upload",
        data={"csrf_token": token, "target": "customers"},
        files={"file": ("wateja.csv", CSV, "text/csv")},
    )
    assert sent.status_code == 200, sent.text[:400]
    url = _job_url(str(sent.url))
    assert "Wanjiku Kamau" in sent.text  # the sample shows under the mapping
    assert 'value="phone" selected' in sent.text

    form = {
        "csrf_token": token,
        "action": "check",
        "country": "KE",
        "date_order": "DMY",
        "trim": "on",
        "remember": "on",
    }
    for i, field in enumerate(["name", "phone", "email", "city", "balance"]):
        form[f"col_{i}"] = field
    checked = client.post(url, data=form)
    assert checked.status_code == 200
    assert "What the import will do" in checked.text
    assert "Excel cut the phone number short" in checked.text

    fixed = client.post(
        url, data={"csrf_token": token, "action": "fix", "fix_3_1": "0712 999 000"}
    )
    assert fixed.status_code == 200
    assert "Excel cut the phone number short" not in fixed.text

    problems = client.get(url + "/problems.csv")
    assert problems.status_code == 200

    done = client.post(url, data={"csrf_token": token, "action": "import"})
    assert "Imported" in done.text
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 3
    history = client.get("/app/integrations/import")
    assert "wateja.csv" in history.text

    undone = client.post(url, data={"csrf_token": token, "action": "undo"})
    assert "Undone" in undone.text
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_binary_renamed_csv_is_refused_with_a_clear_message(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    token = page_csrf(client, "/app/integrations/import")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    sent = client.post(
        "/app/integrations/import/upload",
        data={"csrf_token": token, "target": "customers"},
        files={"file": ("customers.csv", png, "text/csv")},
    )
    assert sent.status_code == 422
    assert "This file is a PNG picture, not a spreadsheet." in sent.text
    assert "No imports yet" in sent.text


def test_templates_download_in_both_formats(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    xlsx = client.get("/app/integrations/import/templates/products.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    csv_ = client.get("/app/integrations/import/templates/customers.csv")
    assert csv_.text.lstrip("\ufeff").splitlines()[0].startswith("Name,Phone,")
