"""A Tigo Pesa push-gateway emulator (providers.md §3): password-grant token
(form), PushBillpay with Username/Password headers, and the JSON callback to
the merchant's registered URL. Paths are whatever the merchant was given."""

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

TOKEN_PATH = "/Shop2DM-GetToken"  # noqa: S105 (a URL path)
PUSH_PATH = "/Shop2DM-PushBillpay"


@dataclass
class Bill:
    reference_id: str
    amount: int
    msisdn: str
    paid: bool | None = None
    mfs_id: str | None = None


@dataclass
class TigoEmulator(Emulator):
    username: str = "shop"
    password: str = "shop-password"  # noqa: S105 (the emulator's test value)
    biller_msisdn: str = "255650000000"
    callback_url: str = ""
    tokens: set[str] = field(default_factory=set)
    bills: dict[str, Bill] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.app = Starlette(
            routes=[
                Route(TOKEN_PATH, self.token, methods=["POST"]),
                Route(PUSH_PATH, self.push, methods=["POST"]),
                Route("/_sandbox/control", self.control, methods=["GET", "POST"]),
            ]
        )

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        if not (
            form.get("grant_type") == "password"
            and constant_time_equal(self.username, str(form.get("username", "")))
            and constant_time_equal(self.password, str(form.get("password", "")))
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=401)
        token = secrets.token_urlsafe(18)
        self.tokens.add(token)
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": 3600}
        )

    async def push(self, request: Request) -> JSONResponse:
        refused = await self.slow_or_throttled()
        if refused is not None:
            return refused
        token = request.headers.get("authorization", "").removeprefix("bearer ").strip()
        if token not in self.tokens:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        data = await self.body_of(request)
        reference = str(data.get("ReferenceID", ""))
        if str(data.get("BillerMSISDN")) != self.biller_msisdn:
            return JSONResponse(
                _answer("BILLER-18-3040-E", False, "BillerMSISDN is wrong", reference)
            )
        bill = Bill(
            reference, int(data.get("Amount", 0)), str(data.get("CustomerMSISDN", ""))
        )
        self.bills[reference] = bill
        self.count("push")
        if self.behaviour != "pending":
            bill.paid = self.behaviour.startswith("pay")
            bill.mfs_id = f"MFS{secrets.token_hex(5).upper()}" if bill.paid else None
            self.schedule(self.behaviour, self.callback_url, self.callback_body(bill))
        return JSONResponse(
            _answer("BILLER-18-0000-S", True, "Valid request", reference)
        )

    def callback_body(self, bill: Bill) -> dict[str, Any]:
        return {
            "Status": bool(bill.paid),
            "Description": "Payment successful" if bill.paid else "Payment failed",
            "MFSTransactionID": bill.mfs_id or "",
            "ReferenceID": bill.reference_id,
            "Amount": str(bill.amount),
        }


def _answer(code: str, ok: bool, text: str, reference: str) -> dict[str, Any]:
    return {
        "ResponseCode": code,
        "ResponseStatus": ok,
        "ResponseDescription": text,
        "ReferenceID": reference,
    }


def create_app(**options: Any) -> Starlette:
    return TigoEmulator(**options).app
