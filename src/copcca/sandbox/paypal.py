"""A PayPal REST emulator (providers.md §5): client-credentials token,
``PAYMENT.CAPTURE.COMPLETED`` and ``PAYMENT.CAPTURE.REFUNDED`` webhooks with
the ``PAYPAL-TRANSMISSION-*`` headers, the verify-webhook-signature API
(way (a)), captures and refunds by id, and 429 ``RATE_LIMIT_REACHED``.
Given a key pair (``use_certificate``), events are signed as PayPal signs
them (way (b)) and the certificate is served at ``PAYPAL-CERT-URL``.

A tampered event carries a signature that both ways refuse."""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from copcca.sandbox.base import Emulator
from copcca.security.signatures import constant_time_equal

CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PayPalEmulator(Emulator):
    client_id: str = "paypal-client"
    client_secret: str = "paypal-secret"  # noqa: S105 (the emulator's test value)
    webhook_id: str = "WH-SANDBOX"
    webhook_url: str = ""
    tokens: set[str] = field(default_factory=set)
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    transmissions: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Way (b): with a key and its certificate (PEM), events are really signed
    # and ``cert_url`` (this emulator's /v1/notifications/certs/...) serves it.
    signing_key: rsa.RSAPrivateKey | None = None
    cert_pem: bytes = b""
    cert_url: str = CERT_URL

    def __post_init__(self) -> None:
        super().__post_init__()
        self.app = Starlette(
            routes=[
                Route("/v1/oauth2/token", self.token, methods=["POST"]),
                Route(
                    "/v1/notifications/verify-webhook-signature",
                    self.verify_signature,
                    methods=["POST"],
                ),
                Route("/v2/payments/captures/{id}", self.capture_get, methods=["GET"]),
                Route("/v2/payments/refunds/{id}", self.refund_get, methods=["GET"]),
                Route(
                    "/v1/notifications/certs/{name}", self.certificate, methods=["GET"]
                ),
                Route("/_sandbox/control", self.control, methods=["GET", "POST"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return token in self.tokens

    async def token(self, request: Request) -> JSONResponse:
        raw = request.headers.get("authorization", "").removeprefix("Basic ").strip()
        try:
            pair = base64.b64decode(raw).decode()
        except ValueError:
            pair = ""
        form = await request.form()
        expected = f"{self.client_id}:{self.client_secret}"
        if form.get("grant_type") != "client_credentials" or not constant_time_equal(
            expected, pair
        ):
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "Client Authentication failed",
                },
                status_code=401,
            )
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-SANDBOX",
                "expires_in": 32400,
            }
        )

    # events ---------------------------------------------------------------
    def use_certificate(
        self, key: rsa.RSAPrivateKey, cert_pem: bytes, base_url: str
    ) -> None:
        """Sign events with ``key`` from now on; serve ``cert_pem`` here."""
        self.signing_key, self.cert_pem = key, cert_pem
        self.cert_url = f"{base_url.rstrip('/')}/v1/notifications/certs/CERT-SANDBOX"

    def _signature(self, transmission_id: str, at: str, event: dict[str, Any]) -> str:
        if self.signing_key is None:  # way (a) only: an opaque token
            return base64.b64encode(secrets.token_bytes(64)).decode()
        raw = json.dumps(event).encode()  # the exact bytes ``Emulator`` sends
        crc = zlib.crc32(raw) & 0xFFFFFFFF
        message = f"{transmission_id}|{at}|{self.webhook_id}|{crc}".encode()
        signed = self.signing_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signed).decode()

    def _emit(self, event: dict[str, Any], *, tamper: bool) -> dict[str, Any]:
        transmission_id = secrets.token_hex(16)
        at = _now()
        signature = self._signature(transmission_id, at, event)
        self.transmissions[transmission_id] = (
            signature,
            json.dumps(event, sort_keys=True),
        )
        headers = {
            "paypal-transmission-id": transmission_id,
            "paypal-transmission-time": at,
            "paypal-transmission-sig": (signature[:-4] + "AAAA")
            if tamper
            else signature,
            "paypal-cert-url": self.cert_url,
            "paypal-auth-algo": "SHA256withRSA",
        }
        self.schedule(self.behaviour, self.webhook_url, event, headers)
        return event

    def capture(
        self, *, value: str, currency: str, invoice_id: str, tamper: bool = False
    ) -> dict[str, Any]:
        """Record a completed capture and send its webhook (needs a running loop)."""
        capture_id = secrets.token_hex(8).upper()
        resource = {
            "id": capture_id,
            "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": value},
            "invoice_id": invoice_id,
            "final_capture": True,
            "create_time": _now(),
            "update_time": _now(),
            "supplementary_data": {
                "related_ids": {"order_id": secrets.token_hex(8).upper()}
            },
            "links": [],
        }
        self.captures[capture_id] = resource
        return self._emit(
            self._event("PAYMENT.CAPTURE.COMPLETED", "capture", resource), tamper=tamper
        )

    def refund(
        self, capture_id: str, *, value: str, tamper: bool = False
    ) -> dict[str, Any]:
        capture = self.captures[capture_id]
        refund_id = secrets.token_hex(8).upper()
        resource = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": {
                "currency_code": capture["amount"]["currency_code"],
                "value": value,
            },
            "create_time": _now(),
            "links": [
                {
                    "href": f"https://api.sandbox.paypal.com/v2/payments/refunds/{refund_id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"https://api.sandbox.paypal.com/v2/payments/captures/{capture_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
        }
        self.refunds[refund_id] = resource
        return self._emit(
            self._event("PAYMENT.CAPTURE.REFUNDED", "refund", resource), tamper=tamper
        )

    @staticmethod
    def _event(
        event_type: str, resource_type: str, resource: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": f"WH-{secrets.token_hex(10).upper()}",
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": resource_type,
            "event_type": event_type,
            "summary": f"{event_type.title()}",
            "resource": resource,
            "links": [],
        }

    # APIs -----------------------------------------------------------------
    async def verify_signature(self, request: Request) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse({"name": "AUTHENTICATION_FAILURE"}, status_code=401)
        data = await self.body_of(request)
        self.count("verify_signature")
        known = self.transmissions.get(str(data.get("transmission_id", "")))
        ok = (
            known is not None
            and constant_time_equal(known[0], str(data.get("transmission_sig", "")))
            and known[1] == json.dumps(data.get("webhook_event"), sort_keys=True)
            and data.get("webhook_id") == self.webhook_id
            and data.get("cert_url") == self.cert_url
        )
        return JSONResponse({"verification_status": "SUCCESS" if ok else "FAILURE"})

    async def certificate(self, request: Request) -> Response:
        self.count("certificate")
        if not self.cert_pem:
            return JSONResponse({"name": "RESOURCE_NOT_FOUND"}, status_code=404)
        return Response(self.cert_pem, media_type="application/x-pem-file")

    async def capture_get(self, request: Request) -> JSONResponse:
        return await self._get(request, self.captures)

    async def refund_get(self, request: Request) -> JSONResponse:
        return await self._get(request, self.refunds)

    async def _get(
        self, request: Request, store: dict[str, dict[str, Any]]
    ) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse({"name": "AUTHENTICATION_FAILURE"}, status_code=401)
        found = store.get(request.path_params["id"])
        if found is None:
            return JSONResponse(
                {
                    "name": "RESOURCE_NOT_FOUND",
                    "message": "The specified resource does not exist.",
                },
                status_code=404,
            )
        return JSONResponse(found)


def create_app(**options: Any) -> Starlette:
    return PayPalEmulator(**options).app
