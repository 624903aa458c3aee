"""The Import Center offers sales, invoices and payments, hands out their
templates, and says so when an upload is an M-Pesa statement."""

from __future__ import annotations

import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from copcca.runtime import Runtime
from tests.helpers import login, make_company, page_csrf
from tests.imports.test_mpesa_statement import STATEMENT


def test_new_targets_are_offered_with_their_description(
    client: TestClient, runtime: Runtime
) -> None:
    login(client, make_company(runtime).email)
    center = client.get("/app/integrations/import")
    for key, label in (("sales", "Sales"), ("invoices", "Invoices")):
        assert f'<option value="{key}" >{label}</option>' in center.text
    assert '<option value="payments" >Payments</option>' in center.text
    assert "an M-Pesa statement export is recognised as it is" in center.text


@pytest.mark.parametrize("target", ["sales", "invoices", "payments"])
def test_templates_have_the_columns_and_an_example_row(
    client: TestClient, runtime: Runtime, target: str
) -> None:
    login(client, make_company(runtime).email)
    xlsx = client.get(f"/app/integrations/import/templates/{target}.xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    header, example = list(sheet.iter_rows(values_only=True))
    assert "Date" in header or "Invoice number" in header
    assert any(example)
    csv = client.get(f"/app/integrations/import/templates/{target}.csv")
    assert csv.text.splitlines()[0].lstrip("\ufeff").split(",") == list(header)


def test_an_uploaded_statement_is_announced_as_payments(
    client: TestClient, runtime: Runtime
) -> None:
    login(client, make_company(runtime).email)
    token = page_csrf(client, "/app/integrations/import")
    sent = client.post(
        "/app/integrations/import/upload",
        data={"csrf_token": token, "target": "customers"},
        files={"file": ("statement.csv", STATEMENT, "text/csv")},
    )
    assert sent.status_code == 200, sent.text[:400]
    assert "This is an M-Pesa statement. Its 2 payments in are imported" in sent.text
    assert "2 rows are money out, pending or failed" in sent.text
