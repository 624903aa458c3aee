"""PayPal REST over HTTP (providers.md §5): client-credentials token, the
webhook verification API, and captures and refunds read back by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from copcca.connectors.http import ProviderHttp
from copcca.connectors.paypal import mapping
from copcca.connectors.tokens import cache_key, cached_token, json_object

HOSTS = {
    "sandbox": "https://api-m.sandbox.paypal.com",
    "production": "https://api-m.paypal.com",
}
PROVIDER = "PayPal"


@dataclass(frozen=True)
class PayPalSettings:
    base_url: str
    client_id: str
    client_secret: str
    webhook_id: str | None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PayPalSettings:
        base = str(config.get("api_base_url") or "").rstrip("/")
        return cls(
            base_url=base or HOSTS[str(config.get("environment") or "sandbox")],
            client_id=str(config["client_id"]),
            client_secret=str(config["client_secret"]),
            webhook_id=config.get("webhook_id") or None,
        )


class PayPalClient:
    def __init__(self, http: ProviderHttp, settings: PayPalSettings) -> None:
        self.http = http
        self.settings = settings
        self._key = cache_key(
            "paypal", settings.base_url, settings.client_id, settings.client_secret
        )

    def token(self, *, force: bool = False) -> str:
        return cached_token(
            self._key,
            lambda: self.http.post(
                f"{self.settings.base_url}/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.settings.client_id, self.settings.client_secret),
            ),
            provider="PayPal",
            refused="PayPal refused the client ID and secret.",
            fix="Copy them again from your app on developer.paypal.com.",
            default_ttl=3600.0,
            force=force,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def verify_signature(self, headers: dict[str, str], event: dict[str, Any]) -> bool:
        """``POST /v1/notifications/verify-webhook-signature`` (way (a))."""
        if not self.settings.webhook_id:
            return False
        body = {
            "auth_algo": headers["paypal-auth-algo"],
            "cert_url": headers["paypal-cert-url"],
            "transmission_id": headers["paypal-transmission-id"],
            "transmission_sig": headers["paypal-transmission-sig"],
            "transmission_time": headers["paypal-transmission-time"],
            "webhook_id": self.settings.webhook_id,
            "webhook_event": event,
        }
        answer = _json(
            self.http.post(
                f"{self.settings.base_url}/v1/notifications/verify-webhook-signature",
                json=body,
                headers=self._headers(),
            )
        )
        return answer.get("verification_status") == "SUCCESS"

    def capture(self, capture_id: str) -> mapping.Capture:
        return mapping.parse_capture(
            _json(
                self.http.get(
                    f"{self.settings.base_url}/v2/payments/captures/{capture_id}",
                    headers=self._headers(),
                )
            )
        )

    def refund(self, refund_id: str) -> mapping.Refund:
        return mapping.parse_refund(
            _json(
                self.http.get(
                    f"{self.settings.base_url}/v2/payments/refunds/{refund_id}",
                    headers=self._headers(),
                )
            )
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(response, "PayPal", parse_float=str)
