"""Promise S3: a canary secret entered through the pages and the API never
appears in a response, a log line, an audit entry or any stored column
other than its sealed ciphertext."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, select

from copcca.db.base import Base
from copcca.runtime import Runtime
from tests.helpers import api_key_for, bearer, login, make_company, page_csrf

CANARY = "CANARY-7f3a9c-DO-NOT-LEAK"


def test_canary_secret_never_leaks(
    client: TestClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = make_company(runtime)
    login(client, tenant.email)
    seen: list[str] = []

    made = client.post(
        "/app/integrations/connect/shopify",
        data={
            "csrf_token": page_csrf(client),
            "cfg_shop_domain": "canary.myshopify.com",
            "cfg_access_token": CANARY,
            "cfg_webhook_secret": CANARY + "-wh",
        },
    )
    seen.append(made.text)
    system_url = str(made.url)
    assert "/app/integrations/systems/" in system_url
    replaced = client.post(
        system_url,
        data={
            "csrf_token": page_csrf(client),
            "action": "credentials",
            "cfg_access_token": CANARY + "-2",
        },
        follow_redirects=True,
    )
    seen.append(replaced.text)
    headers = bearer(api_key_for(runtime, tenant))
    api_made = client.post(
        "/api/v1/integrations",
        headers=headers,
        json={
            "provider": "woocommerce",
            "credentials": {
                "store_url": "https://duka.example",
                "consumer_key": CANARY + "-ck",
                "consumer_secret": CANARY + "-cs",
            },
        },
    )
    assert api_made.status_code == 201
    seen.append(api_made.text)
    patched = client.patch(
        f"/api/v1/integrations/{api_made.json()['id']}",
        headers=headers,
        json={"credentials": {"consumer_secret": CANARY + "-cs2"}},
    )
    seen.append(patched.text)
    for path in (
        "/app/integrations/",
        "/app/integrations/connect",
        system_url,
        "/app/settings/audit",
        "/app/integrations/logs",
    ):
        seen.append(client.get(path).text)
    for path in (
        "/api/v1/integrations",
        "/api/v1/audit-log",
        "/api/v1/sync-logs",
        "/api/v1/integration-stats",
    ):
        seen.append(client.get(path, headers=headers).text)

    assert all(CANARY not in text for text in seen)
    assert CANARY not in caplog.text
    stored = _all_text_columns(runtime)
    assert [v for v in stored if CANARY in v] == []


def _all_text_columns(runtime: Runtime) -> list[str]:
    values: list[str] = []
    with runtime.db.engine.connect() as conn:
        if runtime.db.is_postgres:
            return values  # RLS hides rows from a context-free scan; SQLite covers it
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(
                    column.type, (String, Text)
                ) or column.type.__class__.__name__ in ("JSON", "Variant"):
                    for value in conn.execute(select(column)).scalars():
                        if value is not None:
                            values.append(str(value))
    return values
