"""Airtel Money over HTTP (providers.md §2): the client-credentials token
(``expires_in`` arrives as a string), USSD push and the enquiry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import phonenumbers

from copcca.connectors.airtel_money import mapping
from copcca.connectors.errors import RequestError
from copcca.connectors.http import ProviderHttp
from copcca.connectors.tokens import cache_key, cached_token, json_object

HOSTS = {
    "sandbox": "https://openapiuat.airtel.africa",
    "production": "https://openapi.airtel.africa",
}
PROVIDER = "Airtel Money"


@dataclass(frozen=True)
class AirtelSettings:
    base_url: str
    country: str
    client_id: str
    client_secret: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AirtelSettings:
        base = str(config.get("api_base_url") or "").rstrip("/")
        return cls(
            base_url=base or HOSTS[str(config.get("environment") or "sandbox")],
            country=str(config.get("country") or "UG"),
            client_id=str(config["client_id"]),
            client_secret=str(config["client_secret"]),
        )

    @property
    def currency(self) -> str:
        return mapping.currency_of(self.country)

    @property
    def calling_code(self) -> str:
        return str(phonenumbers.country_code_for_region(self.country))


class AirtelClient:
    def __init__(self, http: ProviderHttp, settings: AirtelSettings) -> None:
        self.http = http
        self.settings = settings
        self._key = cache_key(
            "airtel", settings.base_url, settings.client_id, settings.client_secret
        )

    def token(self, *, force: bool = False) -> str:
        return cached_token(
            self._key,
            lambda: self.http.post(
                f"{self.settings.base_url}/auth/oauth2/token",
                json={
                    "client_id": self.settings.client_id,
                    "client_secret": self.settings.client_secret,
                    "grant_type": "client_credentials",
                },
            ),
            provider="Airtel",
            refused="Airtel refused the client ID and secret.",
            fix="Copy them again from your app on the Airtel developer portal.",
            default_ttl=180.0,
            force=force,
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token()}",
            "X-Country": self.settings.country,
            "X-Currency": self.settings.currency,
            "Accept": "*/*",
        }

    def push(
        self, *, transaction_id: str, phone: str, amount_minor: int, reference: str
    ) -> dict[str, Any]:
        from copcca.crm.money import from_minor

        major = from_minor(amount_minor, self.settings.currency)
        if major != major.to_integral_value():
            raise RequestError(
                "Airtel Money takes whole amounts only.", fix="Round the amount."
            )
        country, currency = self.settings.country, self.settings.currency
        body = {
            "reference": reference[:64],
            "subscriber": {
                "country": country,
                "currency": currency,
                "msisdn": mapping.local_msisdn(phone, self.settings.calling_code),
            },
            "transaction": {
                "amount": int(major),
                "country": country,
                "currency": currency,
                "id": transaction_id,
            },
        }
        answer = _json(
            self.http.post(
                f"{self.settings.base_url}/merchant/v1/payments/",
                json=body,
                headers=self._headers(),
            )
        )
        status = answer.get("status") or {}
        if not status.get("success"):
            raise RequestError(
                f"Airtel did not accept the payment request: {status.get('message') or 'no reason given'}.",
                fix="Check the phone number and try again.",
            )
        return answer

    def enquiry(self, transaction_id: str) -> mapping.Enquiry:
        answer = _json(
            self.http.get(
                f"{self.settings.base_url}/standard/v1/payments/{transaction_id}",
                headers=self._headers(),
            )
        )
        return mapping.parse_enquiry(answer)


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(response, "Airtel")
