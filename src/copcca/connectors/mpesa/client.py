"""Daraja over HTTP (providers.md §1): the OAuth token, STK push and query,
C2B URL registration and simulation, Transaction Status and Account Balance.

- The token is cached per app until shortly before ``expires_in`` (a number
  or a string); ``404.001.03`` / ``401.002.01`` refresh it and retry once.
- Throttling arrives as HTTP 500 with ``500.003.02`` / ``500.003.03``; the
  classifier turns it into ``RateLimited`` so the shared HTTP layer waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from copcca.connectors.errors import AuthError, ProviderError, RateLimited, RequestError
from copcca.connectors.http import ProviderHttp, parse_retry_after
from copcca.connectors.mpesa import mapping
from copcca.connectors.tokens import TOKENS, cache_key, cached_token, json_object

HOSTS = {
    "sandbox": "https://sandbox.safaricom.co.ke",
    "production": "https://api.safaricom.co.ke",
}
THROTTLE_CODES = frozenset({"500.003.02", "500.003.03"})
TOKEN_CODES = frozenset({"404.001.03", "401.002.01"})
STILL_PROCESSING = "500.001.1001"  # STK Query before the customer has answered
PROVIDER = "M-Pesa"


def error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("errorCode") or "") if isinstance(body, dict) else ""


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("errorMessage") or "") if isinstance(body, dict) else ""


def classify_daraja(response: httpx.Response) -> ProviderError | None:
    """Daraja's payload codes, which its HTTP status alone does not tell."""
    if response.status_code < 400:
        return None
    code = error_code(response)
    details = {"code": code, "provider_message": error_message(response)[:200]}
    if code in THROTTLE_CODES:
        return RateLimited(
            "M-Pesa asked us to slow down.",
            fix="Nothing to do: we wait and continue automatically.",
            status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("retry-after")) or 5.0,
            details=details,
        )
    if code in TOKEN_CODES:
        return AuthError(
            "M-Pesa did not accept our access token.",
            fix="Nothing to do if it happens once; otherwise check the consumer "
            "key and secret.",
            status=response.status_code,
            details={**details, "token": True},
        )
    if code == STILL_PROCESSING:
        return RequestError(
            "M-Pesa is still processing this request.",
            fix="We ask again in a moment.",
            status=response.status_code,
            details=details,
        )
    if code.startswith("400.") or response.status_code == 400:
        return RequestError(
            f"M-Pesa refused the request: {details['provider_message'] or code}.",
            fix="Check the paybill or till number, passkey and phone number.",
            status=response.status_code,
            details=details,
        )
    return None


@dataclass(frozen=True)
class DarajaSettings:
    base_url: str
    shortcode: str
    shortcode_type: str
    store_number: str | None
    consumer_key: str
    consumer_secret: str
    passkey: str | None
    initiator_name: str | None
    security_credential: str | None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DarajaSettings:
        base = str(config.get("api_base_url") or "").rstrip("/")
        return cls(
            base_url=base or HOSTS[str(config.get("environment") or "sandbox")],
            shortcode=str(config["shortcode"]),
            shortcode_type=str(config.get("shortcode_type") or "paybill"),
            store_number=config.get("store_number") or None,
            consumer_key=str(config["consumer_key"]),
            consumer_secret=str(config["consumer_secret"]),
            passkey=config.get("passkey") or None,
            initiator_name=config.get("initiator_name") or None,
            security_credential=config.get("security_credential") or None,
        )

    @property
    def business_shortcode(self) -> str:
        """The number STK requests are made for (a till's store number)."""
        if self.shortcode_type == "till" and self.store_number:
            return self.store_number
        return self.shortcode

    @property
    def can_query_transactions(self) -> bool:
        return bool(self.initiator_name and self.security_credential)


class DarajaClient:
    def __init__(self, http: ProviderHttp, settings: DarajaSettings) -> None:
        self.http = http
        self.settings = settings
        self._cache_key = cache_key(
            settings.base_url, settings.consumer_key, settings.consumer_secret
        )

    # token ---------------------------------------------------------------
    def token(self, *, force: bool = False) -> str:
        return cached_token(
            self._cache_key,
            lambda: self.http.get(
                f"{self.settings.base_url}/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                auth=(self.settings.consumer_key, self.settings.consumer_secret),
            ),
            provider=PROVIDER,
            refused="M-Pesa refused the consumer key and secret.",
            fix="Copy them again from your app on developer.safaricom.co.ke.",
            missing_fix="Check the consumer key and secret of your Daraja app.",
            default_ttl=3599.0,
            force=force,
        )

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST with the bearer token; a rejected token is renewed once."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token(force=attempt == 2)}"}
            try:
                response = self.http.post(
                    f"{self.settings.base_url}{path}", json=payload, headers=headers
                )
            except AuthError as exc:
                if exc.details.get("token") and attempt == 1:
                    TOKENS.drop(self._cache_key)
                    continue
                raise
            return _json(response)
        raise AssertionError("unreachable")

    # STK -----------------------------------------------------------------
    def _stk_auth(self, at: datetime) -> dict[str, str]:
        if not self.settings.passkey:
            raise RequestError(
                "This M-Pesa connection has no Lipa na M-Pesa passkey.",
                fix="Add the passkey on the connection's page to request payments.",
            )
        stamp = mapping.timestamp(at)
        shortcode = self.settings.business_shortcode
        return {
            "BusinessShortCode": shortcode,
            "Password": mapping.stk_password(shortcode, self.settings.passkey, stamp),
            "Timestamp": stamp,
        }

    def stk_push(
        self,
        *,
        phone: str,
        amount_minor: int,
        account_reference: str,
        description: str,
        callback_url: str,
        at: datetime,
    ) -> dict[str, Any]:
        if amount_minor % 100:
            raise RequestError(
                "M-Pesa only takes whole shillings.",
                fix="Round the amount to whole shillings.",
            )
        till = self.settings.shortcode_type == "till"
        body = {
            **self._stk_auth(at),
            "TransactionType": "CustomerBuyGoodsOnline"
            if till
            else "CustomerPayBillOnline",
            "Amount": str(amount_minor // 100),
            "PartyA": mapping.msisdn(phone),
            "PartyB": self.settings.shortcode,
            "PhoneNumber": mapping.msisdn(phone),
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        answer = self._post("/mpesa/stkpush/v1/processrequest", body)
        if str(answer.get("ResponseCode", "")) != "0" or not answer.get(
            "CheckoutRequestID"
        ):
            raise RequestError(
                "M-Pesa did not accept the payment request: "
                f"{answer.get('ResponseDescription') or 'no reason given'}.",
                fix="Check the phone number and try again.",
            )
        return answer

    def stk_query(
        self, checkout_request_id: str, *, at: datetime
    ) -> mapping.StkQueryAnswer:
        body = {**self._stk_auth(at), "CheckoutRequestID": checkout_request_id}
        try:
            answer = self._post("/mpesa/stkpushquery/v1/query", body)
        except RequestError as exc:
            if exc.details.get("code") == STILL_PROCESSING:
                return mapping.StkQueryAnswer(False, None, exc.message)
            raise
        return mapping.parse_stk_query(answer)

    # C2B -----------------------------------------------------------------
    def register_urls(
        self, *, confirmation_url: str, validation_url: str, reject_unknown: bool
    ) -> dict[str, Any]:
        return self._post(
            "/mpesa/c2b/v2/registerurl",
            {
                "ShortCode": self.settings.shortcode,
                # What M-Pesa does when our validation answer is late.
                "ResponseType": "Cancelled" if reject_unknown else "Completed",
                "ConfirmationURL": confirmation_url,
                "ValidationURL": validation_url,
            },
        )

    def c2b_simulate(
        self, *, amount_minor: int, phone: str, bill_ref: str
    ) -> dict[str, Any]:
        """Sandbox only: make M-Pesa send a paybill payment to our URLs."""
        till = self.settings.shortcode_type == "till"
        return self._post(
            "/mpesa/c2b/v1/simulate",
            {
                "ShortCode": self.settings.shortcode,
                "CommandID": "CustomerBuyGoodsOnline"
                if till
                else "CustomerPayBillOnline",
                "Amount": str(amount_minor // 100),
                "Msisdn": mapping.msisdn(phone),
                "BillRefNumber": bill_ref,
            },
        )

    # asynchronous queries ------------------------------------------------
    def _initiator(self) -> dict[str, str]:
        if not self.settings.can_query_transactions:
            raise RequestError(
                "This M-Pesa connection has no API initiator.",
                fix="Add the initiator name and security credential on the "
                "connection's page.",
            )
        assert self.settings.initiator_name
        assert self.settings.security_credential
        return {
            "Initiator": self.settings.initiator_name,
            "SecurityCredential": self.settings.security_credential,
        }

    def transaction_status(
        self, *, receipt: str, result_url: str, timeout_url: str
    ) -> dict[str, Any]:
        """Ask for a receipt's facts; the answer arrives at ``result_url``."""
        answer = self._post(
            "/mpesa/transactionstatus/v1/query",
            {
                **self._initiator(),
                "CommandID": "TransactionStatusQuery",
                "TransactionID": receipt,
                "PartyA": self.settings.shortcode,
                "IdentifierType": "4",
                "ResultURL": result_url,
                "QueueTimeOutURL": timeout_url,
                "Remarks": "Payment check",
                "Occasion": receipt,
            },
        )
        return _accepted(answer)

    def account_balance(self, *, result_url: str, timeout_url: str) -> dict[str, Any]:
        answer = self._post(
            "/mpesa/accountbalance/v1/query",
            {
                **self._initiator(),
                "CommandID": "AccountBalance",
                "PartyA": self.settings.shortcode,
                "IdentifierType": "4",
                "Remarks": "Balance",
                "ResultURL": result_url,
                "QueueTimeOutURL": timeout_url,
            },
        )
        return _accepted(answer)


def _accepted(answer: dict[str, Any]) -> dict[str, Any]:
    if str(answer.get("ResponseCode", "")) != "0" or not answer.get("ConversationID"):
        raise RequestError(
            "M-Pesa did not accept the query: "
            f"{answer.get('ResponseDescription') or 'no reason given'}.",
            fix="Check the initiator name and security credential.",
        )
    return answer


def _json(response: httpx.Response) -> dict[str, Any]:
    return json_object(
        response, PROVIDER, fix="Check the API address of this connection."
    )
