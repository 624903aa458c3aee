"""A Daraja emulator that follows providers.md §1: OAuth token (``expires_in``
as a string), STK push and STK Query, C2B register/simulate with validation
and confirmation callbacks, Transaction Status and Account Balance with
asynchronous results, Daraja-style errors and throttling (HTTP 500 with
``500.003.02``).

How it calls back is controllable, per test or from ``/_sandbox/control``:
``stk`` is one of ``pay`` (one callback), ``pay_twice``, ``pay_late``,
``pay_silent`` (paid, but the callback never comes), ``cancel`` (1032),
``insufficient`` (1) or ``pending`` (never decided). ``results`` is
``answer``, ``never`` or ``timeout`` for Transaction Status queries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copcca.security.signatures import constant_time_equal

SANDBOX_SHORTCODE = "174379"
# The public Daraja sandbox passkey (providers.md §0.2).
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
NAIROBI = ZoneInfo("Africa/Nairobi")
STK_OUTCOMES = {
    "pay": (0, "The service request is processed successfully."),
    "cancel": (1032, "Request cancelled by user"),
    "insufficient": (1, "The balance is insufficient for the transaction."),
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"requestId": secrets.token_hex(8), "errorCode": code, "errorMessage": message},
        status_code=status,
    )


def _now_stamp() -> str:
    return datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")


def _receipt() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "S" + "".join(secrets.choice(alphabet) for _ in range(9))


@dataclass
class StkRequest:
    checkout_id: str
    merchant_id: str
    amount: int  # whole shillings
    phone: str
    account_reference: str
    callback_url: str
    outcome: str
    result_code: int | None = None
    result_desc: str = ""
    receipt: str | None = None


@dataclass
class Transaction:
    receipt: str
    amount: int
    msisdn: str
    bill_ref: str
    shortcode: str
    first_name: str
    at: str
    kind: str = "Pay Bill"


@dataclass
class Sent:
    url: str
    body: dict[str, Any]
    status: int | None = None


@dataclass
class DarajaEmulator:
    consumer_key: str = "sandbox-key"
    consumer_secret: str = "sandbox-secret"  # noqa: S105 (the emulator's own test value)
    shortcode: str = SANDBOX_SHORTCODE
    passkey: str = SANDBOX_PASSKEY
    initiator: str = "testapi"
    security_credential: str = "sandbox-credential"
    callback_delay: float = 0.2
    late_delay: float = 3.0
    stk: str = "pay"
    results: str = "answer"
    confirm_stk_by_c2b: bool = True  # a paid STK push also fires the C2B confirmation
    token_ttl: str = "3599"  # noqa: S105 (seconds, not a secret)
    # Only call back addresses starting with this (the built-in demo sets it).
    callback_prefix: str | None = None
    tokens: dict[str, bool] = field(default_factory=dict)
    requests: dict[str, StkRequest] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    registered: dict[str, dict[str, str]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    throttle_remaining: int = 0
    answer_delay: float = 0.0  # seconds before any API answer (timeouts)
    counts: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/oauth/v1/generate", self.token, methods=["GET"]),
                Route(
                    "/mpesa/stkpush/v1/processrequest", self.stk_push, methods=["POST"]
                ),
                Route("/mpesa/stkpushquery/v1/query", self.stk_query, methods=["POST"]),
                Route("/mpesa/c2b/v1/registerurl", self.register_url, methods=["POST"]),
                Route("/mpesa/c2b/v2/registerurl", self.register_url, methods=["POST"]),
                Route("/mpesa/c2b/v1/simulate", self.simulate, methods=["POST"]),
                Route("/mpesa/c2b/v2/simulate", self.simulate, methods=["POST"]),
                Route(
                    "/mpesa/transactionstatus/v1/query",
                    self.transaction_status,
                    methods=["POST"],
                ),
                Route(
                    "/mpesa/accountbalance/v1/query",
                    self.account_balance,
                    methods=["POST"],
                ),
                Route("/_sandbox/control", self.control, methods=["GET", "POST"]),
                Route("/_sandbox/transactions", self.seed, methods=["POST"]),
            ]
        )
        self._tasks: set[asyncio.Task[None]] = set()

    # plumbing -------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    async def _gate(self, request: Request) -> JSONResponse | None:
        """Throttling first (as Daraja's gateway does), then the token."""
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if self.throttle_remaining > 0:
            self.throttle_remaining -= 1
            self._count("throttled")
            return _error(500, "500.003.02", "Spike Arrest Violation")
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or not self.tokens.get(token):
            return _error(404, "404.001.03", "Invalid Access Token")
        return None

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _later(self, delay: float, url: str, body: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(
            self._post_later(delay, url, body)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_later(self, delay: float, url: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(delay)
        await self.post(url, body)

    async def post(self, url: str, body: dict[str, Any]) -> int | None:
        """Send one callback, as Daraja would (no signature)."""
        record = Sent(url, body)
        self.sent.append(record)
        if self.callback_prefix and not url.startswith(self.callback_prefix):
            return None
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.post(url, json=body)
            record.status = response.status_code
        except httpx.HTTPError:
            record.status = None
        return record.status

    def expire_tokens(self) -> None:
        for key in self.tokens:
            self.tokens[key] = False

    # OAuth ----------------------------------------------------------------
    async def token(self, request: Request) -> JSONResponse:
        self._count("token")
        if request.query_params.get("grant_type") != "client_credentials":
            return _error(400, "400.008.02", "Invalid grant type passed")
        auth = request.headers.get("authorization", "")
        try:
            raw = base64.b64decode(auth.removeprefix("Basic ").strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raw = ""
        expected = f"{self.consumer_key}:{self.consumer_secret}"
        if not auth.startswith("Basic ") or not constant_time_equal(expected, raw):
            return _error(400, "400.008.01", "Invalid Authentication passed")
        token = secrets.token_urlsafe(21)
        self.tokens[token] = True
        ttl: Any = self.token_ttl if self.counts["token"] % 2 else int(self.token_ttl)
        return JSONResponse({"access_token": token, "expires_in": ttl})

    # STK -------------------------------------------------------------------
    def _password_ok(self, data: dict[str, Any]) -> bool:
        stamp = str(data.get("Timestamp", ""))
        expected = base64.b64encode(
            f"{self.shortcode}{self.passkey}{stamp}".encode()
        ).decode()
        return (
            str(data.get("BusinessShortCode")) == self.shortcode
            and data.get("Password") == expected
            and len(stamp) == 14
        )

    async def stk_push(self, request: Request) -> JSONResponse:
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        if not self._password_ok(data):
            return _error(400, "400.002.02", "Bad Request - Invalid Password")
        amount = str(data.get("Amount", ""))
        phone = str(data.get("PhoneNumber", ""))
        if not amount.isdigit() or int(amount) < 1:
            return _error(400, "400.002.02", "Bad Request - Invalid Amount")
        if not (phone.isdigit() and phone.startswith("254") and len(phone) == 12):
            return _error(400, "400.002.02", "Bad Request - Invalid PhoneNumber")
        if not str(data.get("CallBackURL", "")).startswith(("http://", "https://")):
            return _error(400, "400.002.02", "Bad Request - Invalid CallBackURL")
        n = next(self._ids)
        checkout = f"ws_CO_{_now_stamp()}{n:06d}"
        stk = StkRequest(
            checkout_id=checkout,
            merchant_id=f"{secrets.randbelow(90000) + 10000}-{n}-1",
            amount=int(amount),
            phone=phone,
            account_reference=str(data.get("AccountReference", ""))[:12],
            callback_url=str(data["CallBackURL"]),
            outcome=self.stk,
        )
        self.requests[checkout] = stk
        self._count("stk_push")
        self._schedule_stk(stk)
        return JSONResponse(
            {
                "MerchantRequestID": stk.merchant_id,
                "CheckoutRequestID": checkout,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    def _schedule_stk(self, stk: StkRequest) -> None:
        outcome = stk.outcome
        if outcome == "pending":
            return
        base = "pay" if outcome.startswith("pay") else outcome
        code, desc = STK_OUTCOMES.get(base, STK_OUTCOMES["cancel"])
        stk.result_code, stk.result_desc = code, desc
        if code == 0:
            stk.receipt = _receipt()
            self.transactions[stk.receipt] = Transaction(
                receipt=stk.receipt,
                amount=stk.amount,
                msisdn=stk.phone,
                bill_ref=stk.account_reference,
                shortcode=self.shortcode,
                first_name="Customer",
                at=_now_stamp(),
            )
        body = self.stk_callback_body(stk)
        if outcome in ("pay", "cancel", "insufficient"):
            self._later(self.callback_delay, stk.callback_url, body)
        elif outcome == "pay_twice":
            self._later(self.callback_delay, stk.callback_url, body)
            self._later(self.callback_delay * 2, stk.callback_url, body)
        elif outcome == "pay_late":
            self._later(self.late_delay, stk.callback_url, body)
        if code == 0 and self.confirm_stk_by_c2b:
            txn = self.transactions[stk.receipt or ""]
            urls = self.registered.get(self.shortcode)
            if urls:
                self._later(
                    self.callback_delay * 1.5, urls["confirmation"], self.c2b_body(txn)
                )

    def stk_callback_body(self, stk: StkRequest) -> dict[str, Any]:
        callback: dict[str, Any] = {
            "MerchantRequestID": stk.merchant_id,
            "CheckoutRequestID": stk.checkout_id,
            "ResultCode": stk.result_code,
            "ResultDesc": stk.result_desc,
        }
        if stk.result_code == 0:
            callback["CallbackMetadata"] = {
                "Item": [
                    {"Name": "Amount", "Value": float(stk.amount)},
                    {"Name": "MpesaReceiptNumber", "Value": stk.receipt},
                    {"Name": "Balance"},
                    {"Name": "TransactionDate", "Value": int(_now_stamp())},
                    {"Name": "PhoneNumber", "Value": int(stk.phone)},
                ]
            }
        return {"Body": {"stkCallback": callback}}

    async def stk_query(self, request: Request) -> JSONResponse:
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        self._count("stk_query")
        if not self._password_ok(data):
            return _error(400, "400.002.02", "Bad Request - Invalid Password")
        stk = self.requests.get(str(data.get("CheckoutRequestID", "")))
        if stk is None:
            return _error(400, "400.002.02", "Bad Request - Invalid CheckoutRequestID")
        if stk.result_code is None:
            return _error(500, "500.001.1001", "The transaction is being processed")
        return JSONResponse(
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": stk.merchant_id,
                "CheckoutRequestID": stk.checkout_id,
                "ResultCode": str(stk.result_code),
                "ResultDesc": stk.result_desc,
            }
        )

    # C2B -------------------------------------------------------------------
    async def register_url(self, request: Request) -> JSONResponse:
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        shortcode = str(data.get("ShortCode", ""))
        if shortcode != self.shortcode:
            return _error(400, "400.002.02", "Bad Request - Invalid ShortCode")
        self.registered[shortcode] = {
            "confirmation": str(data.get("ConfirmationURL", "")),
            "validation": str(data.get("ValidationURL", "")),
            "response_type": str(data.get("ResponseType", "Completed")),
        }
        return JSONResponse(
            {
                "OriginatorCoversationID": f"{secrets.randbelow(9000) + 1000}-{next(self._ids)}-1",
                "ResponseCode": "0",
                "ResponseDescription": "success",
            }
        )

    def c2b_body(self, txn: Transaction) -> dict[str, Any]:
        return {
            "TransactionType": txn.kind,
            "TransID": txn.receipt,
            "TransTime": txn.at,
            "TransAmount": f"{txn.amount}.00",
            "BusinessShortCode": txn.shortcode,
            "BillRefNumber": txn.bill_ref,
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": txn.msisdn[:5] + "****" + txn.msisdn[-3:],
            "FirstName": txn.first_name,
            "MiddleName": "",
            "LastName": "",
        }

    async def simulate(self, request: Request) -> JSONResponse:
        """Sandbox C2B: validation (when registered), then confirmation."""
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        urls = self.registered.get(str(data.get("ShortCode", "")))
        amount = str(data.get("Amount", ""))
        if urls is None:
            return _error(
                400, "400.002.02", "Bad Request - ShortCode has no registered URLs"
            )
        if not amount.isdigit() or int(amount) < 1:
            return _error(400, "400.002.02", "Bad Request - Invalid Amount")
        txn = Transaction(
            receipt=_receipt(),
            amount=int(amount),
            msisdn=str(data.get("Msisdn", "254708374149")),
            bill_ref=str(data.get("BillRefNumber", ""))[:20],
            shortcode=str(data["ShortCode"]),
            first_name=str(data.get("FirstName") or "John"),
            at=_now_stamp(),
        )
        self._count("simulate")
        task = asyncio.get_running_loop().create_task(self._c2b_flow(urls, txn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse(
            {
                "ConversationID": f"AG_{_now_stamp()[:8]}_{secrets.token_hex(10)}",
                "OriginatorCoversationID": f"{next(self._ids)}-1",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    async def _c2b_flow(self, urls: dict[str, str], txn: Transaction) -> None:
        await asyncio.sleep(self.callback_delay)
        body = self.c2b_body(txn)
        if urls.get("validation"):
            accepted = await self._validate(urls["validation"], body)
            if accepted is False or (
                accepted is None and urls.get("response_type") == "Cancelled"
            ):
                return
        self.transactions[txn.receipt] = txn
        await self.post(urls["confirmation"], body)

    async def _validate(self, url: str, body: dict[str, Any]) -> bool | None:
        record = Sent(url, body)
        self.sent.append(record)
        try:
            async with httpx.AsyncClient(timeout=8.0) as client:
                response = await client.post(url, json=body)
            record.status = response.status_code
            return str(response.json().get("ResultCode")) == "0"
        except (httpx.HTTPError, ValueError, AttributeError):
            return None  # M-Pesa then applies the registered ResponseType

    # asynchronous queries --------------------------------------------------
    def _initiator_ok(self, data: dict[str, Any]) -> bool:
        return (
            data.get("Initiator") == self.initiator
            and data.get("SecurityCredential") == self.security_credential
        )

    def _ack(self) -> tuple[str, str, dict[str, str]]:
        conversation = f"AG_{_now_stamp()[:8]}_{secrets.token_hex(10)}"
        originator = f"{secrets.randbelow(90000) + 10000}-{next(self._ids)}-1"
        return (
            conversation,
            originator,
            {
                "OriginatorConversationID": originator,
                "ConversationID": conversation,
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            },
        )

    async def transaction_status(self, request: Request) -> JSONResponse:
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        self._count("transaction_status")
        if not self._initiator_ok(data):
            return _error(400, "400.002.02", "Bad Request - Invalid Initiator")
        conversation, originator, ack = self._ack()
        receipt = str(data.get("TransactionID", ""))
        body = self.status_result(
            conversation, originator, receipt, str(data.get("Occasion", ""))
        )
        if self.results == "answer":
            self._later(self.callback_delay, str(data.get("ResultURL", "")), body)
        elif self.results == "timeout":
            timeout = {
                "Result": {
                    "ResultType": 1,
                    "ResultCode": 1,
                    "ResultDesc": "The request timed out in the queue.",
                    "OriginatorConversationID": originator,
                    "ConversationID": conversation,
                    "TransactionID": "",
                    "ReferenceData": {
                        "ReferenceItem": {"Key": "Occasion", "Value": receipt}
                    },
                }
            }
            self._later(
                self.callback_delay, str(data.get("QueueTimeOutURL", "")), timeout
            )
        return JSONResponse(ack)

    def status_result(
        self, conversation: str, originator: str, receipt: str, occasion: str
    ) -> dict[str, Any]:
        txn = self.transactions.get(receipt)
        result: dict[str, Any] = {
            "ResultType": 0,
            "OriginatorConversationID": originator,
            "ConversationID": conversation,
            "TransactionID": receipt,
            "ReferenceData": {"ReferenceItem": {"Key": "Occasion", "Value": occasion}},
        }
        if txn is None:
            result.update(
                ResultCode=2001,
                ResultDesc="The transaction receipt number does not exist.",
            )
            return {"Result": result}
        params = [
            ("ReceiptNo", txn.receipt),
            ("Conversation ID", conversation),
            ("FinalisedTime", int(txn.at)),
            ("Amount", txn.amount),
            ("TransactionStatus", "Completed"),
            ("ReasonType", "Pay Bill Online"),
            ("TransactionReason", None),
            ("DebitPartyCharges", None),
            ("DebitAccountType", "MMF Account For Customer"),
            ("InitiatedTime", int(txn.at)),
            ("Originator Conversation ID", originator),
            ("CreditPartyName", f"{txn.shortcode} - Sandbox Shop"),
            ("DebitPartyName", f"{txn.msisdn} - {txn.first_name}"),
        ]
        result.update(
            ResultCode=0,
            ResultDesc="The service request is processed successfully.",
            ResultParameters={
                "ResultParameter": [
                    {"Key": k} if v is None else {"Key": k, "Value": v}
                    for k, v in params
                ]
            },
        )
        return {"Result": result}

    async def account_balance(self, request: Request) -> JSONResponse:
        gate = await self._gate(request)
        if gate is not None:
            return gate
        data = await self._body(request)
        if not self._initiator_ok(data):
            return _error(400, "400.002.02", "Bad Request - Invalid Initiator")
        conversation, originator, ack = self._ack()
        total = sum(t.amount for t in self.transactions.values())
        balance = (
            f"Working Account|KES|{total}.00|{total}.00|0.00|0.00"
            f"&Utility Account|KES|{total}.00|{total}.00|0.00|0.00"
        )
        body = {
            "Result": {
                "ResultType": 0,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "OriginatorConversationID": originator,
                "ConversationID": conversation,
                "TransactionID": "",
                "ResultParameters": {
                    "ResultParameter": [
                        {"Key": "AccountBalance", "Value": balance},
                        {"Key": "BOCompletedTime", "Value": int(_now_stamp())},
                    ]
                },
                "ReferenceData": {"ReferenceItem": {"Key": "QueueTimeoutURL"}},
            }
        }
        self._later(self.callback_delay, str(data.get("ResultURL", "")), body)
        return JSONResponse(ack)

    # control ---------------------------------------------------------------
    async def seed(self, request: Request) -> JSONResponse:
        """Record completed payments without calling anyone (a load test then
        posts their confirmations itself): ``{"transactions": [{"receipt",
        "amount", "msisdn", "bill_ref"}]}``."""
        data = await self._body(request)
        added = 0
        for item in data.get("transactions") or []:
            if not isinstance(item, dict) or not str(item.get("receipt", "")).isalnum():
                continue
            receipt = str(item["receipt"])
            self.transactions[receipt] = Transaction(
                receipt=receipt,
                amount=int(item.get("amount", 1)),
                msisdn=str(item.get("msisdn", "254708374149")),
                bill_ref=str(item.get("bill_ref", ""))[:20],
                shortcode=self.shortcode,
                first_name=str(item.get("first_name") or "Customer"),
                at=str(item.get("at") or _now_stamp()),
            )
            added += 1
        return JSONResponse({"added": added, "transactions": len(self.transactions)})

    async def control(self, request: Request) -> JSONResponse:
        """GET: state. POST: ``{"stk", "results", "callback_delay",
        "throttle", "expire_tokens"}``."""
        if request.method == "POST":
            data = await self._body(request)
            if data.get("stk") in {
                *STK_OUTCOMES,
                "pay_twice",
                "pay_late",
                "pay_silent",
                "pending",
            }:
                self.stk = str(data["stk"])
            if data.get("results") in {"answer", "never", "timeout"}:
                self.results = str(data["results"])
            if isinstance(data.get("callback_delay"), int | float):
                self.callback_delay = float(data["callback_delay"])
            if isinstance(data.get("answer_delay"), int | float):
                self.answer_delay = float(data["answer_delay"])
            if isinstance(data.get("throttle"), int):
                self.throttle_remaining = int(data["throttle"])
            if data.get("expire_tokens"):
                self.expire_tokens()
        return JSONResponse(
            {
                "stk": self.stk,
                "results": self.results,
                "callback_delay": self.callback_delay,
                "throttle": self.throttle_remaining,
                "counts": self.counts,
                "registered": self.registered,
                "callbacks_sent": len(self.sent),
                "at": datetime.now(UTC).isoformat(),
            }
        )


def create_app(**options: Any) -> Starlette:
    """The ASGI app, for ``copcca sandbox mpesa``."""
    return DarajaEmulator(**options).app
