"""A Flutterwave v3 emulator (providers.md §4): ``charge.completed``
webhooks carrying ``verif-hash`` (or tampered), the verify API, a
transactions list for the credentials check, and 429 throttling.

``verify_amount_override`` makes the verify API report another amount, to
prove value is granted only on what Flutterwave confirms (promise P6)."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copcca.sandbox.base import Emulator
from copcca.security.signatures import constant_time_equal


@dataclass
class FlutterwaveEmulator(Emulator):
    secret_key: str = "FLWSECK_TEST-sandbox"  # noqa: S105 (the emulator's test value)
    secret_hash: str = "sandbox-hash"  # noqa: S105
    webhook_url: str = ""
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    verify_amount_override: float | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(8321945))

    def __post_init__(self) -> None:
        super().__post_init__()
        self.app = Starlette(
            routes=[
                Route("/v3/transactions/{id}/verify", self.verify, methods=["GET"]),
                Route("/v3/transactions", self.listing, methods=["GET"]),
                Route("/_sandbox/charge", self.charge_route, methods=["POST"]),
                Route("/_sandbox/control", self.control, methods=["GET", "POST"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return constant_time_equal(self.secret_key, given)

    def charge(
        self,
        *,
        amount: str,
        currency: str,
        tx_ref: str,
        phone: str = "+2348012345678",
        name: str = "Ada Obi",
        status: str = "successful",
        tamper: bool = False,
    ) -> dict[str, Any]:
        """Record a completed charge and send its webhook (needs a running loop)."""
        tx_id = next(self._ids)
        data = {
            "id": tx_id,
            "tx_ref": tx_ref,
            "flw_ref": f"FLW{secrets.token_hex(8)}",
            "amount": float(amount) if "." in amount else int(amount),
            "currency": currency,
            "charged_amount": float(amount) if "." in amount else int(amount),
            "app_fee": 0,
            "status": status,
            "payment_type": "mobilemoneyke",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "customer": {
                "id": 1,
                "name": name,
                "phone_number": phone,
                "email": "a@example.com",
            },
        }
        self.transactions[str(tx_id)] = data
        body = {
            "event": "charge.completed",
            "data": data,
            "event.type": "MOBILEMONEY_TRANSACTION",
        }
        secret = "not-the-secret" if tamper else self.secret_hash
        self.schedule(self.behaviour, self.webhook_url, body, {"verif-hash": secret})
        return body

    async def charge_route(self, request: Request) -> JSONResponse:
        data = await self.body_of(request)
        body = self.charge(
            amount=str(data.get("amount", "1000")),
            currency=str(data.get("currency", "NGN")),
            tx_ref=str(data.get("tx_ref", "ref")),
            tamper=bool(data.get("tamper")),
        )
        return JSONResponse(body)

    async def verify(self, request: Request) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse(
                {"status": "error", "message": "Invalid authorization key"},
                status_code=401,
            )
        self.count("verify")
        data = self.transactions.get(request.path_params["id"])
        if data is None:
            return JSONResponse(
                {
                    "status": "error",
                    "message": "No transaction was found for this id",
                    "data": None,
                },
                status_code=400,
            )
        shown = dict(data)
        if self.verify_amount_override is not None:
            shown["amount"] = self.verify_amount_override
        return JSONResponse(
            {
                "status": "success",
                "message": "Transaction fetched successfully",
                "data": shown,
            }
        )

    async def listing(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse(
                {"status": "error", "message": "Invalid authorization key"},
                status_code=401,
            )
        items = list(self.transactions.values())
        return JSONResponse(
            {
                "status": "success",
                "message": "Transactions fetched",
                "meta": {
                    "page_info": {
                        "total": len(items),
                        "current_page": 1,
                        "total_pages": 1,
                    }
                },
                "data": items,
            }
        )


def create_app(**options: Any) -> Starlette:
    return FlutterwaveEmulator(**options).app
