"""Tigo Pesa's push gateway: a password-grant token, then PushBillpay, at
the URLs Tigo gave the merchant (providers.md §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from copcca.connectors.errors import RequestError
from copcca.connectors.http import ProviderHttp
from copcca.connectors.tigo_pesa import mapping
from copcca.connectors.tokens import cache_key, cached_token, json_object
from copcca.crm.money import from_minor

PROVIDER = "Tigo Pesa"


@dataclass(frozen=True)
class TigoSettings:
    base_url: str
    token_path: str
    push_path: str
    username: str
    password: str
    biller_msisdn: str
    biller_code: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TigoSettings:
        return cls(
            base_url=str(config["api_base_url"]).rstrip("/"),
            token_path=str(config["token_path"]),
            push_path=str(config["push_path"]),
            username=str(config["username"]),
            password=str(config["password"]),
            biller_msisdn=str(config["biller_msisdn"]).lstrip("+"),
            biller_code=str(config["biller_code"]),
        )


class TigoClient:
    def __init__(self, http: ProviderHttp, settings: TigoSettings) -> None:
        self.http = http
        self.settings = settings
        self._key = cache_key(
            "tigo", settings.base_url, settings.username, settings.password
        )

    def token(self, *, force: bool = False) -> str:
        return cached_token(
            self._key,
            lambda: self.http.post(
                f"{self.settings.base_url}{self.settings.token_path}",
                data={
                    "username": self.settings.username,
                    "password": self.settings.password,
                    "grant_type": "password",
                },
            ),
            provider="Tigo",
            refused="Tigo refused the username and password.",
            fix="Check them with the details Tigo sent when your account opened.",
            default_ttl=300.0,
            force=force,
        )

    def push(
        self, *, reference_id: str, phone: str, amount_minor: int, remarks: str
    ) -> dict[str, Any]:
        amount = from_minor(amount_minor, mapping.CURRENCY)
        answer = _json(
            self.http.post(
                f"{self.settings.base_url}{self.settings.push_path}",
                json={
                    "CustomerMSISDN": phone.lstrip("+"),
                    "BillerMSISDN": self.settings.biller_msisdn,
                    "Amount": int(amount),
                    "Remarks": remarks[:100],
                    "ReferenceID": reference_id,
                },
                headers={
                    "Authorization": f"bearer {self.token()}",
                    "Username": self.settings.username,
                    "Password": self.settings.password,
                },
            )
        )
        if answer.get("ResponseStatus") is not True:
            raise RequestError(
                "Tigo did not accept the payment request: "
                f"{answer.get('ResponseDescription') or answer.get('ResponseCode') or 'no reason given'}.",
                fix="Check the phone number, the amount and the merchant number.",
            )
        return answer


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(response, "Tigo", fix="Check the gateway address and paths.")
