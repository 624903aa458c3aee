"""An Airtel Money emulator (providers.md §2): client-credentials token with
``expires_in`` as a string, USSD push, the portal-registered callback, the
enquiry, and 429 throttling. The callback address is set at start (it is
registered per app in Airtel's portal, not sent per request)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copcca.sandbox.base import Emulator
from copcca.security.signatures import constant_time_equal


@dataclass
class Collection:
    id: str
    amount: int
    msisdn: str
    currency: str
    status: str = "TIP"
    airtel_money_id: str | None = None


@dataclass
class AirtelEmulator(Emulator):
    client_id: str = "airtel-client"
    client_secret: str = "airtel-secret"  # noqa: S105 (the emulator's test value)
    callback_url: str = ""
    tokens: set[str] = field(default_factory=set)
    collections: dict[str, Collection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.app = Starlette(
            routes=[
                Route("/auth/oauth2/token", self.token, methods=["POST"]),
                Route("/merchant/v1/payments/", self.pay, methods=["POST"]),
                Route("/standard/v1/payments/{id}", self.enquiry, methods=["GET"]),
                Route("/_sandbox/control", self.control, methods=["GET", "POST"]),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return token in self.tokens

    async def token(self, request: Request) -> JSONResponse:
        data = await self.body_of(request)
        if not (
            constant_time_equal(self.client_id, str(data.get("client_id", "")))
            and constant_time_equal(
                self.client_secret, str(data.get("client_secret", ""))
            )
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(18)
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "expires_in": "180", "token_type": "bearer"}
        )

    async def pay(self, request: Request) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        data = await self.body_of(request)
        txn: dict[str, Any] = data.get("transaction") or {}
        subscriber: dict[str, Any] = data.get("subscriber") or {}
        msisdn = str(subscriber.get("msisdn", ""))
        if not msisdn.isdigit() or msisdn.startswith("0") or len(msisdn) != 9:
            return JSONResponse(
                _status(False, "Invalid msisdn", "ESB000008"), status_code=400
            )
        collection = Collection(
            id=str(txn.get("id", "")),
            amount=int(txn.get("amount", 0)),
            msisdn=msisdn,
            currency=request.headers.get("x-currency", "UGX"),
        )
        self.collections[collection.id] = collection
        self.count("pay")
        if self.behaviour != "pending":
            paid = self.behaviour.startswith("pay")
            collection.status = "TS" if paid else "TF"
            collection.airtel_money_id = (
                f"MP{secrets.token_hex(5).upper()}" if paid else None
            )
            self.schedule(
                self.behaviour, self.callback_url, self.callback_body(collection)
            )
        return JSONResponse(
            {
                "data": {"transaction": {"id": collection.id, "status": "SUCCESS"}},
                **_status(True, "SUCCESS", "ESB000010"),
            }
        )

    def callback_body(self, collection: Collection) -> dict[str, Any]:
        paid = collection.status == "TS"
        return {
            "transaction": {
                "id": collection.id,
                "message": (
                    f"Paid {collection.currency} {collection.amount:,} to the merchant"
                    if paid
                    else "Transaction failed"
                ),
                "status_code": collection.status,
                "airtel_money_id": collection.airtel_money_id,
            }
        }

    async def enquiry(self, request: Request) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        self.count("enquiry")
        collection = self.collections.get(request.path_params["id"])
        if collection is None:
            return JSONResponse(
                _status(False, "Transaction not found", "ESB000041"), status_code=404
            )
        return JSONResponse(
            {
                "data": {
                    "transaction": {
                        "airtel_money_id": collection.airtel_money_id,
                        "id": collection.id,
                        "message": "success"
                        if collection.status == "TS"
                        else collection.status,
                        "status": collection.status,
                    }
                },
                **_status(True, "SUCCESS", "ESB000010"),
            }
        )


def _status(success: bool, message: str, result_code: str) -> dict[str, Any]:
    return {
        "status": {
            "code": "200" if success else "400",
            "message": message,
            "result_code": result_code,
            "response_code": "DP00800001001" if success else "DP00800001000",
            "success": success,
        }
    }


def create_app(**options: Any) -> Starlette:
    return AirtelEmulator(**options).app
