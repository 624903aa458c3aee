"""PayPal's offline webhook check (providers.md §0.1 and §5, way (b)).

PayPal signs ``{transmission id}|{transmission time}|{webhook id}|{CRC32 of
the raw body, unsigned decimal}`` with RSA PKCS#1 v1.5 and SHA-256, and
names the certificate holding the public key in ``PAYPAL-CERT-URL``. The
certificate is fetched only from PayPal's own hosts over https (or, for a
connection pointed at an emulator, from that emulator's exact origin), only
while it is within its validity dates, and kept for an hour, so checking an
event costs no request to PayPal.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from copcca.connectors.errors import WebhookRejected
from copcca.errors import ServiceUnavailable

ALGORITHM = "SHA256withRSA"
CACHE_SECONDS = 3600.0
MAX_CERT_BYTES = 64_000
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """The exact bytes PayPal signs for one delivery."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def allowed_cert_url(url: str, emulator_base: str | None) -> bool:
    """https on paypal.com (or a subdomain), or exactly the emulator's origin
    when the connection talks to an emulator instead of PayPal."""
    scheme, host, _ = _origin(url)
    if scheme == "https" and (host == "paypal.com" or host.endswith(".paypal.com")):
        return True
    return bool(emulator_base) and _origin(url) == _origin(str(emulator_base))


class CertificateCache:
    """Public keys by certificate URL, fetched once per ``CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, rsa.RSAPublicKey]] = {}

    def key(self, url: str, client: httpx.Client) -> rsa.RSAPublicKey:
        now = time.monotonic()
        with self._lock:
            found = self._keys.get(url)
        if found is not None and found[0] > now:
            return found[1]
        key = _fetch(url, client)
        with self._lock:
            if len(self._keys) > 100:
                self._keys.clear()
            self._keys[url] = (now + CACHE_SECONDS, key)
        return key

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


def _fetch(url: str, client: httpx.Client) -> rsa.RSAPublicKey:
    try:
        response = client.get(url, timeout=FETCH_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            "PayPal's signing certificate could not be fetched right now.",
            fix="Nothing to do: PayPal sends the event again.",
        ) from exc
    if response.status_code != 200 or len(response.content) > MAX_CERT_BYTES:
        raise WebhookRejected(f"certificate not served ({response.status_code})")
    try:
        cert = x509.load_pem_x509_certificate(response.content)
    except ValueError as exc:
        raise WebhookRejected("certificate is not a PEM certificate") from exc
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise WebhookRejected("certificate is outside its validity dates")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected("certificate does not hold an RSA key")
    return key


CERTIFICATES = CertificateCache()


def verify(
    headers: Mapping[str, str],
    body: bytes,
    webhook_id: str | None,
    emulator_base: str | None,
    client: httpx.Client,
    cache: CertificateCache = CERTIFICATES,
) -> None:
    """Raise ``WebhookRejected`` unless PayPal's certificate verifies the
    signature over this delivery; ``ServiceUnavailable`` (the route answers
    503, PayPal retries) when the certificate cannot be fetched."""
    if not webhook_id:
        raise WebhookRejected("no webhook ID saved for the certificate check")
    if headers.get("paypal-auth-algo") != ALGORITHM:
        raise WebhookRejected("unsupported signature algorithm")
    url = headers["paypal-cert-url"]
    if not allowed_cert_url(url, emulator_base):
        raise WebhookRejected("certificate address is not PayPal's")
    try:
        signature = base64.b64decode(headers["paypal-transmission-sig"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected("signature is not base64") from exc
    message = signed_message(
        headers["paypal-transmission-id"],
        headers["paypal-transmission-time"],
        webhook_id,
        body,
    )
    key = cache.key(url, client)
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise WebhookRejected("signature does not match PayPal's certificate") from exc
