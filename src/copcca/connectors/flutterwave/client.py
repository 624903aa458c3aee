"""Flutterwave v3 over HTTP: verify a transaction by id (providers.md §4)."""

from __future__ import annotations

from typing import Any

from copcca.connectors.errors import RequestError
from copcca.connectors.flutterwave import mapping
from copcca.connectors.http import ProviderHttp

HOST = "https://api.flutterwave.com"
PROVIDER = "Flutterwave"


class FlutterwaveClient:
    def __init__(self, http: ProviderHttp, config: dict[str, Any]) -> None:
        self.http = http
        self.base_url = str(config.get("api_base_url") or HOST).rstrip("/")
        self.secret_key = str(config["secret_key"])

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(
            f"{self.base_url}{path}",
            params=params or None,
            headers={"Authorization": f"Bearer {self.secret_key}"},
        )
        try:
            body = response.json(parse_float=str)
        except ValueError as exc:
            raise RequestError(
                "Flutterwave answered with something that is not JSON."
            ) from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            raise RequestError(
                f"Flutterwave said: {body.get('message') if isinstance(body, dict) else 'error'}."
            )
        return body

    def verify(self, transaction_id: str) -> mapping.Charge:
        """``GET /v3/transactions/{id}/verify``: the facts Flutterwave holds."""
        body = self._get(f"/v3/transactions/{transaction_id}/verify")
        data = body.get("data")
        if not isinstance(data, dict):
            raise RequestError("Flutterwave's verify answer has no transaction.")
        return mapping.parse_charge(data)

    def check(self) -> None:
        self._get("/v3/transactions", page=1)
