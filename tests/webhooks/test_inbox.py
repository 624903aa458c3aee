"""The webhook inbox through the real app: authenticity over raw bytes (W1)
in constant time (W2), 2xx only after the commit (W6), once-only storage
and effect (W7), unknown types acknowledged (W10), size limit before any
HMAC work (W11), handshakes, and processing into the CRM."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from copcca.db.session import Database
from copcca.models.crm import Customer
from copcca.models.integrations import Integration, SyncLog, WebhookInbox
from copcca.runtime import Runtime
from copcca.webhooks.inbound import tokens
from tests.connectors.fixtures import WEBHOOK_SECRET, connect_store
from tests.connectors.store import TestStore
from tests.connectors.teststore import sign
from tests.helpers import Tenant, make_company

CUSTOMER = {"id": 501, "name": "Amina Hooks", "phone": "0712 000 501"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def headers_for(
    body: bytes,
    *,
    topic: str = "customer.updated",
    delivery: str = "d-1",
    secret: str = WEBHOOK_SECRET,
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-test-topic": topic,
        "x-test-delivery": delivery,
        "x-test-signature": sign(body, secret),
    }


def hook_path(runtime: Runtime, tenant: Tenant, integration_id: uuid.UUID) -> str:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        assert row.callback_token
        return f"/hooks/teststore/{row.callback_token}"


def inbox(runtime: Runtime, tenant: Tenant) -> list[WebhookInbox]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(WebhookInbox)))


def customers(runtime: Runtime, tenant: Tenant) -> list[Customer]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(Customer)))


def webhook_logs(runtime: Runtime, tenant: Tenant) -> list[SyncLog]:
    with runtime.db.transaction(tenant.company_id, write=False) as session:
        return list(session.scalars(select(SyncLog).where(SyncLog.kind == "webhook")))


@pytest.fixture
def hook(runtime: Runtime, store: TestStore) -> tuple[Tenant, uuid.UUID, str]:
    tenant = make_company(runtime)
    iid = connect_store(runtime, tenant, store)
    return tenant, iid, hook_path(runtime, tenant, iid)


def test_token_names_the_company_and_fits_the_column(
    runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    token = path.rsplit("/", 1)[1]
    assert tokens.company_of(token) == tenant.company_id
    assert len(token) <= 64
    assert len(token.split(".")[1]) == 24


def test_valid_delivery_is_stored_acknowledged_and_applied(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, iid, path = hook
    body = body_of(CUSTOMER)

    response = client.post(path, content=body, headers=headers_for(body))

    assert response.status_code == 200
    assert response.json() == {"received": True}
    [row] = inbox(runtime, tenant)
    assert (row.status, row.event_id, row.event_type, row.body) == (
        "processed",
        "d-1",
        "customer.updated",
        body,
    )
    assert "x-test-signature" in row.headers
    [customer] = customers(runtime, tenant)
    assert (customer.name, customer.phone) == ("Amina Hooks", "+254712000501")
    [log] = webhook_logs(runtime, tenant)
    assert (log.status, log.trigger, log.created_count, log.integration_id) == (
        "success",
        "webhook",
        1,
        iid,
    )
    assert log.message == (
        "1 event from Test Store. Customer updates: 1 new, 0 updated, "
        "0 already up to date."
    )


def _tampered(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = headers_for(body)
    return body.replace(b"Amina", b"Imani"), headers


def _wrong_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, headers_for(body, secret="not-the-secret")


def _missing_header(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = headers_for(body)
    del headers["x-test-signature"]
    return body, headers


def _reserialised(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = headers_for(body)  # signed compact; sent pretty-printed
    return json.dumps(json.loads(body), indent=2).encode(), headers


@pytest.mark.parametrize(
    "forge",
    [_tampered, _wrong_secret, _missing_header, _reserialised],
    ids=["tampered-body", "wrong-secret", "missing-header", "reserialised-whitespace"],
)
def test_unauthentic_delivery_is_401_and_nothing_is_stored(
    client: TestClient,
    runtime: Runtime,
    hook: tuple[Tenant, uuid.UUID, str],
    forge: Callable[[bytes], tuple[bytes, dict[str, str]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant, _iid, path = hook
    body, headers = forge(body_of(CUSTOMER))

    with caplog.at_level(logging.WARNING, logger="copcca.security"):
        response = client.post(path, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "webhook_rejected"
    assert inbox(runtime, tenant) == []
    assert customers(runtime, tenant) == []
    assert webhook_logs(runtime, tenant) == []
    [line] = [r for r in caplog.records if r.name == "copcca.security"]
    assert line.getMessage().startswith("webhook rejected: provider=teststore")
    assert "Amina" not in line.getMessage()


def test_signatures_and_tokens_are_compared_in_constant_time(
    client: TestClient,
    runtime: Runtime,
    hook: tuple[Tenant, uuid.UUID, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """W2: every comparison of a secret value goes through compare_digest."""
    _tenant, _iid, path = hook
    real = hmac.compare_digest
    calls: list[tuple[int, int]] = []

    def spy(a: Any, b: Any) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = body_of(CUSTOMER)

    assert client.post(path, content=body, headers=headers_for(body)).status_code == 200
    token_length = len(path.rsplit("/", 1)[1])
    assert (token_length, token_length) in calls  # the callback token
    assert (44, 44) in calls  # the base64 HMAC-SHA256 signature


def test_oversized_body_is_413_before_any_hmac_work(
    client: TestClient,
    runtime: Runtime,
    hook: tuple[Tenant, uuid.UUID, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant, _iid, path = hook
    limit = runtime.settings.max_webhook_bytes
    big = b"x" * (limit + 1)
    signed = headers_for(big)
    hmacs: list[object] = []
    monkeypatch.setattr(hmac, "new", lambda *a, **k: hmacs.append(a))

    declared = client.post(path, content=big, headers=signed)
    streamed = client.post(
        path, content=iter([big[:limit], big[limit:]]), headers=signed
    )

    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert declared.json()["code"] == "payload_too_large"
    assert hmacs == []
    assert inbox(runtime, tenant) == []


def test_body_at_the_limit_is_accepted(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    limit = runtime.settings.max_webhook_bytes
    base = body_of({**CUSTOMER, "note": ""})
    body = body_of({**CUSTOMER, "note": "n" * (limit - len(base))})
    assert len(body) == limit

    assert client.post(path, content=body, headers=headers_for(body)).status_code == 200
    assert len(inbox(runtime, tenant)) == 1


def test_unknown_event_type_is_stored_as_ignored_and_acknowledged(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    body = body_of({"id": 9, "whatever": True})

    response = client.post(
        path, content=body, headers=headers_for(body, topic="order.teleported")
    )

    assert response.status_code == 200
    [row] = inbox(runtime, tenant)
    assert (row.status, row.event_type) == ("ignored", "order.teleported")
    assert webhook_logs(runtime, tenant) == []


def test_hundred_concurrent_identical_deliveries_store_and_apply_once(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    """W7: 100 threads post the same signed delivery."""
    tenant, _iid, path = hook
    body = body_of(CUSTOMER)
    headers = headers_for(body, delivery="same-delivery")
    barrier = threading.Barrier(100)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        statuses.append(client.post(path, content=body, headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert statuses == [200] * 100
    assert len(inbox(runtime, tenant)) == 1
    assert len(customers(runtime, tenant)) == 1
    [log] = webhook_logs(runtime, tenant)
    assert log.created_count == 1


def test_database_unreachable_answers_503_then_the_retry_is_accepted(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    """W6: no 2xx unless the delivery is committed."""
    tenant, _iid, path = hook
    body = body_of(CUSTOMER)
    working = runtime.db
    dead_url = (
        "postgresql://copcca_app@127.0.0.1:1/nowhere"
        if working.is_postgres
        else "sqlite:////nonexistent-dir/copcca.db"
    )
    runtime.db = Database(dead_url)
    try:
        down = client.post(path, content=body, headers=headers_for(body))
    finally:
        runtime.db.dispose()
        runtime.db = working

    assert down.status_code == 503
    assert down.json()["code"] == "service_unavailable"
    assert inbox(runtime, tenant) == []
    again = client.post(path, content=body, headers=headers_for(body))
    assert again.status_code == 200
    assert len(inbox(runtime, tenant)) == 1


def test_commit_failure_answers_503_and_keeps_nothing(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    body = body_of(CUSTOMER)

    def fail(_conn: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(runtime.db.engine, "commit", fail)
    try:
        response = client.post(path, content=body, headers=headers_for(body))
    finally:
        event.remove(runtime.db.engine, "commit", fail)

    assert response.status_code == 503
    assert inbox(runtime, tenant) == []
    assert client.post(path, content=body, headers=headers_for(body)).status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: uuid.uuid4().hex + t[32:],
        lambda t: "not-a-token",
    ],
    ids=["wrong-secret-part", "other-company", "malformed"],
)
def test_wrong_token_is_404_without_side_effects(
    client: TestClient,
    runtime: Runtime,
    hook: tuple[Tenant, uuid.UUID, str],
    mangle: Callable[[str], str],
) -> None:
    tenant, _iid, path = hook
    prefix, token = path.rsplit("/", 1)
    body = body_of(CUSTOMER)

    response = client.post(
        f"{prefix}/{mangle(token)}", content=body, headers=headers_for(body)
    )

    assert response.status_code == 404
    assert inbox(runtime, tenant) == []


def test_provider_that_takes_no_webhooks_is_404(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    _tenant, _iid, path = hook
    token = path.rsplit("/", 1)[1]
    assert client.post(f"/hooks/xero/{token}", content=b"{}").status_code == 404
    assert client.post(f"/hooks/nope/{token}", content=b"{}").status_code == 404


def test_unsigned_creation_ping_is_accepted_only_in_its_exact_form(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    form = {"content-type": "application/x-www-form-urlencoded"}

    ping = client.post(path, content=b"webhook_id=17", headers=form)
    padded = client.post(path, content=b"webhook_id=17&x=1", headers=form)

    assert (ping.status_code, padded.status_code) == (200, 401)
    assert inbox(runtime, tenant) == []


def test_get_handshake_echoes_the_challenge_for_the_right_verify_token(
    client: TestClient, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    _tenant, _iid, path = hook
    ok = client.get(
        path,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": WEBHOOK_SECRET,
            "hub.challenge": "12345",
        },
    )
    bad = client.get(path, params={"hub.verify_token": "guess", "hub.challenge": "1"})

    assert (ok.status_code, ok.text) == (200, "12345")
    assert bad.status_code == 401


def test_authentic_but_unreadable_delivery_is_kept_as_failed_and_acknowledged(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    body = b"{not json"

    response = client.post(path, content=body, headers=headers_for(body))

    assert response.status_code == 200
    [row] = inbox(runtime, tenant)
    assert row.status == "failed"
    assert (row.error or "").startswith(
        "The delivery was authentic but could not be read"
    )


def test_bad_event_fails_with_a_sample_and_can_be_skipped(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, _iid, path = hook
    good, bad = body_of(CUSTOMER), body_of({"id": 502, "name": ""})

    client.post(path, content=good, headers=headers_for(good, delivery="g"))
    client.post(path, content=bad, headers=headers_for(bad, delivery="b"))

    rows = {r.event_id: r for r in inbox(runtime, tenant)}
    assert (rows["g"].status, rows["b"].status) == ("processed", "failed")
    assert rows["b"].error == "This customer has no name."
    failed_log = next(x for x in webhook_logs(runtime, tenant) if x.failed_count)
    assert failed_log.status == "failed"
    [sample] = failed_log.errors
    assert sample["inbox_id"] == str(rows["b"].id)
    assert sample["message"] == "This customer has no name."


def test_uninstall_event_marks_the_connection_for_reconnecting(
    client: TestClient, runtime: Runtime, hook: tuple[Tenant, uuid.UUID, str]
) -> None:
    tenant, iid, path = hook
    body = body_of({"id": 1})

    client.post(path, content=body, headers=headers_for(body, topic="app.uninstalled"))

    with runtime.db.transaction(tenant.company_id, write=False) as session:
        row = session.get(Integration, iid)
        assert row is not None
        assert (row.status, row.health) == ("needs_reconnect", "red")
        assert row.health_reason == "The Test Store app was removed from the shop."


def test_event_types_read_as_plain_words() -> None:
    from copcca.webhooks.inbound.labels import event_label

    assert event_label("orders/create") == "new orders"
    assert event_label("mpesa.c2b_confirmation") == "payments to the till"
    assert event_label("PAYMENT.CAPTURE.REFUNDED") == "refunds"
    assert event_label("inventory_levels/update") == "inventory levels update"
