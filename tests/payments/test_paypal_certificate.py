"""PayPal's offline certificate check (providers.md §0.1, §5 way (b)): a key
pair made here, the emulator signing with it and serving the certificate,
the hub fetching it only from an allowed host and keeping it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from copcca.connectors.errors import WebhookRejected
from copcca.connectors.paypal import certs
from copcca.models.crm import InvoiceStatus
from copcca.models.integrations import WebhookInbox
from copcca.runtime import Runtime
from copcca.sandbox.paypal import PayPalEmulator
from copcca.sandbox.server import serving
from tests.helpers import Tenant, make_company
from tests.payments.helpers import (
    add_invoice,
    connect,
    count,
    hook_url,
    invoice,
    payments,
    wait_for,
)
from tests.payments.test_other_rails import _run


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(key: rsa.RSAPrivateKey, *, days: int = 1, start: int = -1) -> bytes:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts")]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=start + days + 1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(autouse=True)
def _no_cached_certificates() -> Iterator[None]:
    certs.CERTIFICATES.clear()
    yield
    certs.CERTIFICATES.clear()


@pytest.fixture
def paypal(hub: str) -> Iterator[tuple[PayPalEmulator, str]]:
    emu = PayPalEmulator(callback_delay=0.05)
    with serving(emu.app) as url:
        emu.use_certificate(_key_once(), _cert(_key_once()), url)
        yield emu, url


_KEY: list[rsa.RSAPrivateKey] = []


def _key_once() -> rsa.RSAPrivateKey:
    if not _KEY:
        _KEY.append(_key())
    return _KEY[0]


def _shop(runtime: Runtime, emu: PayPalEmulator, url: str, **extra: Any) -> Tenant:
    tenant = make_company(runtime, "Nairobi Crafts")
    integration = connect(
        runtime,
        tenant,
        "paypal",
        {
            "client_id": "paypal-client",
            "client_secret": "paypal-secret",
            "webhook_id": "WH-SANDBOX",
            "signature_check": "certificate",
            "api_base_url": url,
            **extra,
        },
    )
    emu.webhook_url = hook_url(runtime, tenant, integration)
    return tenant


def test_capture_signed_with_the_certificate_is_credited_without_the_verify_api(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, url = paypal
    tenant = _shop(runtime, emu, url)
    inv = add_invoice(runtime, tenant, 2_000, number="INV-0301")
    first = _run(emu, "capture", value="10.00", currency="KES", invoice_id="INV0301")
    _run(emu, "capture", value="10.00", currency="KES", invoice_id="INV0301")
    wait_for(lambda: len(emu.sent) == 2 and all(s.status for s in emu.sent))
    assert [s.status for s in emu.sent] == [200, 200]
    assert emu.counts.get("certificate") == 1  # fetched once, then kept
    assert "verify_signature" not in emu.counts
    wait_for(lambda: invoice(runtime, tenant, inv).status == InvoiceStatus.PAID)
    assert first["resource"]["id"] in {
        p.provider_reference for p in payments(runtime, tenant)
    }


def test_tampered_signature_is_refused_by_the_certificate(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, url = paypal
    tenant = _shop(runtime, emu, url)
    _run(emu, "capture", value="10.00", currency="KES", invoice_id="X", tamper=True)
    wait_for(lambda: emu.sent and emu.sent[0].status is not None)
    assert emu.sent[0].status == 401
    assert count(runtime, tenant, WebhookInbox) == 0
    assert payments(runtime, tenant) == []


def test_production_connection_does_not_fetch_from_the_emulator(
    runtime: Runtime, paypal: tuple[PayPalEmulator, str]
) -> None:
    emu, url = paypal
    tenant = _shop(runtime, emu, url, environment="production")
    _run(emu, "capture", value="10.00", currency="KES", invoice_id="X")
    wait_for(lambda: emu.sent and emu.sent[0].status is not None)
    assert emu.sent[0].status == 401
    assert "certificate" not in emu.counts
    assert count(runtime, tenant, WebhookInbox) == 0


# ------------------------------------------------------------- unit level
def test_signed_message_uses_the_unsigned_crc32_of_the_raw_body() -> None:
    # crc32(b"hello") is 0x3610A686; a body whose CRC has the top bit set
    # must still be written unsigned.
    assert certs.signed_message("T1", "2026-01-01T00:00:00Z", "WH-1", b"hello") == (
        b"T1|2026-01-01T00:00:00Z|WH-1|907060870"
    )
    assert certs.signed_message("a", "b", "c", b"a") == b"a|b|c|3904355907"


@pytest.mark.parametrize(
    ("url", "emulator", "allowed"),
    [
        ("https://api.paypal.com/v1/notifications/certs/C", None, True),
        ("https://api.sandbox.paypal.com/v1/notifications/certs/C", None, True),
        ("http://api.paypal.com/v1/notifications/certs/C", None, False),
        ("https://evilpaypal.com/c", None, False),
        ("https://paypal.com.evil.example/c", None, False),
        ("http://127.0.0.1:9000/v1/notifications/certs/C", None, False),
        (
            "http://127.0.0.1:9000/v1/notifications/certs/C",
            "http://127.0.0.1:9000/",
            True,
        ),
        (
            "http://127.0.0.1:9001/v1/notifications/certs/C",
            "http://127.0.0.1:9000",
            False,
        ),
        ("http://localhost:9000/c", "http://127.0.0.1:9000", False),
    ],
)
def test_certificates_come_only_from_allowed_hosts(
    url: str, emulator: str | None, allowed: bool
) -> None:
    assert certs.allowed_cert_url(url, emulator) is allowed


def _headers(key: rsa.RSAPrivateKey, body: bytes, cert_url: str) -> dict[str, str]:
    message = certs.signed_message("TID", "2026-03-01T10:00:00Z", "WH-1", body)
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "paypal-transmission-id": "TID",
        "paypal-transmission-time": "2026-03-01T10:00:00Z",
        "paypal-transmission-sig": base64.b64encode(signature).decode(),
        "paypal-cert-url": cert_url,
        "paypal-auth-algo": "SHA256withRSA",
    }


def _serving(pem: bytes, calls: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, content=pem)

    return httpx.Client(transport=httpx.MockTransport(handler))


CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-1"
BODY = json.dumps({"id": "WH-9", "event_type": "PAYMENT.CAPTURE.COMPLETED"}).encode()


def test_valid_signature_passes_and_a_changed_byte_fails() -> None:
    key, calls = _key_once(), []
    headers = _headers(key, BODY, CERT_URL)
    with _serving(_cert(key), calls) as client:
        cache = certs.CertificateCache()
        certs.verify(headers, BODY, "WH-1", None, client, cache)
        with pytest.raises(WebhookRejected):
            certs.verify(headers, BODY.replace(b"9", b"8"), "WH-1", None, client, cache)
        with pytest.raises(WebhookRejected):  # another webhook's id
            certs.verify(headers, BODY, "WH-2", None, client, cache)
    assert calls == [CERT_URL]


@pytest.mark.parametrize(
    "change",
    ["other key", "expired", "not yet valid", "bad host", "no webhook id", "algorithm"],
)
def test_refused_without_crediting(change: str) -> None:
    key, calls = _key_once(), []
    pem = _cert(key)
    headers = _headers(key, BODY, CERT_URL)
    webhook_id: str | None = "WH-1"
    if change == "other key":
        pem = _cert(_key())
    elif change == "expired":
        pem = _cert(key, start=-10, days=1)
    elif change == "not yet valid":
        pem = _cert(key, start=5)
    elif change == "bad host":
        headers["paypal-cert-url"] = "https://certs.example.com/CERT-1"
    elif change == "no webhook id":
        webhook_id = None
    else:
        headers["paypal-auth-algo"] = "SHA1withRSA"
    with _serving(pem, calls) as client, pytest.raises(WebhookRejected):
        certs.verify(headers, BODY, webhook_id, None, client, certs.CertificateCache())
    if change in ("bad host", "no webhook id", "algorithm"):
        assert calls == []  # refused before fetching anything
