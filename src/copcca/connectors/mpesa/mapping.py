"""Daraja payloads to plain facts, and the few values we must compute
(STK password, timestamps, phone formats). Pure functions, providers.md §1.

Amounts are read from the raw JSON text (``1.00`` in an STK callback is a
JSON float; we keep it as ``"1.00"``), so no float ever touches money (P8).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from copcca.connectors.errors import DataError
from copcca.crm.money import to_minor_exact
from copcca.crm.phones import normalise_phone
from copcca.errors import InvalidInput
from copcca.security.signatures import constant_time_equal

NAIROBI = ZoneInfo("Africa/Nairobi")
CURRENCY = "KES"
STK_SUCCESS = 0


# One decoder for every callback (``json.loads`` with options builds a new
# one per call, which showed up on the C2B hot path).
_DECODER = json.JSONDecoder(parse_float=str)


def load(body: bytes) -> dict[str, Any]:
    """The JSON object in a callback body. Decimal numbers stay the text they
    were sent as (``1.00`` → ``"1.00"``), so amounts are read exactly and
    the result is plain JSON data."""
    try:
        data = _DECODER.decode(body.decode(json.detect_encoding(body)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError("The callback body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise DataError("The callback body is not a JSON object.")
    return data


def timestamp(at: datetime) -> str:
    """``YYYYMMDDHHmmss`` in Kenyan time, as Daraja expects."""
    return at.astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def parse_timestamp(value: object) -> datetime | None:
    """``YYYYMMDDHHmmss`` in Kenyan time to UTC (None if it is not one)."""
    text = str(value or "").strip()
    if len(text) != 14 or not text.isdigit():
        return None
    try:
        local = datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            int(text[12:14]),
            tzinfo=NAIROBI,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def stk_password(shortcode: str, passkey: str, stamp: str) -> str:
    """base64(Shortcode + Passkey + Timestamp) (providers.md §1.2, §0.2)."""
    return base64.b64encode(f"{shortcode}{passkey}{stamp}".encode()).decode("ascii")


def msisdn(e164: str) -> str:
    """``+254712345678`` → ``254712345678`` (Daraja's phone format)."""
    return e164.lstrip("+")


def amount_minor(value: object) -> int:
    """KES minor units from a Daraja amount (``"10"``, ``"10.00"``, 1.00)."""
    if value is None or value == "":
        raise DataError("The amount is missing.")
    try:
        minor = to_minor_exact(Decimal(str(value).strip()), CURRENCY)
    except (InvalidInput, ArithmeticError) as exc:
        raise DataError(f"'{value}' is not an amount in shillings.") from exc
    if minor <= 0:
        raise DataError("The amount is not above zero.")
    return minor


def phone_matches(reported: str | None, e164: str | None) -> bool:
    """Whether Daraja's payer field can be this phone: a full number, a masked
    one (``25470****149``) or, on newer C2B, the SHA-256 of the number."""
    if not reported or not e164:
        return False
    digits = msisdn(e164)
    text = reported.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return constant_time_equal(
            hashlib.sha256(digits.encode()).hexdigest(), text.lower()
        )
    if text.startswith("0"):
        text = "254" + text[1:]
    pattern = "".join(
        r"\d" if ch == "*" else ch for ch in text if ch.isdigit() or ch == "*"
    )
    return bool(pattern) and re.fullmatch(pattern, digits) is not None


def usable_phone(reported: object) -> str | None:
    """E.164 when Daraja gave a whole number, None when masked or hashed."""
    text = str(reported or "").strip()
    if "*" in text or re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return None
    return normalise_phone(text, "KE")


# ---------------------------------------------------------------- STK
@dataclass(frozen=True)
class StkResult:
    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str
    amount_minor: int | None = None
    receipt: str | None = None
    paid_at: datetime | None = None
    phone: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result_code == STK_SUCCESS


def parse_stk_callback(data: dict[str, Any]) -> StkResult:
    """``{"Body":{"stkCallback":{...}}}`` (providers.md §1.3)."""
    try:
        cb = data["Body"]["stkCallback"]
        checkout = str(cb["CheckoutRequestID"]).strip()
        code = int(str(cb["ResultCode"]).strip())
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            "The STK callback is missing its request id or result."
        ) from exc
    if not checkout:
        raise DataError("The STK callback has an empty CheckoutRequestID.")
    items = {
        str(i.get("Name")): i.get("Value")
        for i in (cb.get("CallbackMetadata") or {}).get("Item") or []
        if isinstance(i, dict)
    }
    result = StkResult(
        merchant_request_id=str(cb.get("MerchantRequestID") or ""),
        checkout_request_id=checkout,
        result_code=code,
        result_desc=str(cb.get("ResultDesc") or ""),
    )
    if code != STK_SUCCESS:
        return result
    receipt = str(items.get("MpesaReceiptNumber") or "").strip()
    if not receipt:
        raise DataError("A successful STK callback has no receipt number.")
    return StkResult(
        merchant_request_id=result.merchant_request_id,
        checkout_request_id=checkout,
        result_code=code,
        result_desc=result.result_desc,
        amount_minor=amount_minor(items.get("Amount")),
        receipt=receipt,
        paid_at=parse_timestamp(items.get("TransactionDate")),
        phone=normalise_phone(str(items.get("PhoneNumber") or ""), "KE"),
    )


@dataclass(frozen=True)
class StkQueryAnswer:
    final: bool  # False while the customer has not answered yet
    result_code: int | None
    result_desc: str

    @property
    def succeeded(self) -> bool:
        return self.final and self.result_code == STK_SUCCESS


def parse_stk_query(data: dict[str, Any]) -> StkQueryAnswer:
    raw = data.get("ResultCode")
    try:
        code = int(str(raw).strip())
    except (TypeError, ValueError):
        return StkQueryAnswer(False, None, str(data.get("ResponseDescription") or ""))
    return StkQueryAnswer(True, code, str(data.get("ResultDesc") or ""))


# ---------------------------------------------------------------- C2B
@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    trans_type: str
    amount_minor: int
    shortcode: str
    bill_ref: str
    msisdn: str  # as sent: full, masked or hashed
    payer_name: str
    paid_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict)


TRANS_ID = re.compile(r"[A-Z0-9]{6,20}")


def c2b_trans_id(data: dict[str, Any]) -> str:
    """The receipt number a C2B body names, checked for its shape. All the
    receiving path needs (the rest is read when the payment is processed)."""
    trans_id = str(data.get("TransID") or "").strip()
    if not TRANS_ID.fullmatch(trans_id):
        raise DataError("The payment has no valid TransID.", record=trans_id or None)
    return trans_id


def parse_c2b(data: dict[str, Any]) -> C2BPayment:
    """Validation and confirmation share this body (providers.md §1.4)."""
    trans_id = c2b_trans_id(data)
    names = [
        str(data.get(k) or "").strip() for k in ("FirstName", "MiddleName", "LastName")
    ]
    return C2BPayment(
        trans_id=trans_id,
        trans_type=str(data.get("TransactionType") or ""),
        amount_minor=amount_minor(data.get("TransAmount")),
        shortcode=str(data.get("BusinessShortCode") or "").strip(),
        bill_ref=str(data.get("BillRefNumber") or "").strip(),
        msisdn=str(data.get("MSISDN") or "").strip(),
        payer_name=" ".join(n for n in names if n),
        paid_at=parse_timestamp(data.get("TransTime")),
        raw=plain(data),
    )


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class ResultNotice:
    """The asynchronous answer to a Transaction Status or Account Balance query."""

    conversation_id: str
    originator_conversation_id: str
    result_code: int
    result_desc: str
    params: dict[str, str]
    reference: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


def parse_result(data: dict[str, Any]) -> ResultNotice:
    try:
        result = data["Result"]
        code = int(str(result["ResultCode"]).strip())
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError("The result has no ResultCode.") from exc
    params = _pairs((result.get("ResultParameters") or {}).get("ResultParameter"))
    return ResultNotice(
        conversation_id=str(result.get("ConversationID") or ""),
        originator_conversation_id=str(result.get("OriginatorConversationID") or ""),
        result_code=code,
        result_desc=str(result.get("ResultDesc") or ""),
        params=params,
        reference=_pairs((result.get("ReferenceData") or {}).get("ReferenceItem")),
    )


def _pairs(items: object) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` (or one such dict) as a plain dict."""
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return {}
    return {
        str(p.get("Key")): str(p.get("Value"))
        for p in items
        if isinstance(p, dict) and p.get("Value") is not None
    }


@dataclass(frozen=True)
class TransactionFacts:
    receipt: str
    status: str
    amount_minor: int
    debit_party: str  # "254708374149 - John Doe"
    credit_party: str  # "600134 - Shop"
    finished_at: datetime | None

    @property
    def completed(self) -> bool:
        return self.status.lower() == "completed"

    def credits(self, shortcode: str) -> bool:
        return self.credit_party.split(" - ")[0].strip() == shortcode.strip()

    @property
    def payer_phone(self) -> str | None:
        return usable_phone(self.debit_party.split(" - ")[0])

    @property
    def payer_name(self) -> str:
        parts = self.debit_party.split(" - ", 1)
        return parts[1].strip() if len(parts) == 2 else ""


def transaction_facts(notice: ResultNotice) -> TransactionFacts:
    """Facts from a Transaction Status result (keys as in Daraja's sample)."""
    p = notice.params
    receipt = (p.get("ReceiptNo") or "").strip()
    if not receipt:
        raise DataError("The status result has no receipt number.")
    return TransactionFacts(
        receipt=receipt,
        status=p.get("TransactionStatus") or "",
        amount_minor=amount_minor(p.get("Amount")),
        debit_party=p.get("DebitPartyName") or "",
        credit_party=p.get("CreditPartyName") or "",
        finished_at=parse_timestamp(p.get("FinalisedTime")),
    )


@dataclass(frozen=True)
class BalanceLine:
    account: str
    currency: str
    available_minor: int
    current_minor: int


def parse_balance(value: str) -> list[BalanceLine]:
    """``"Working Account|KES|700000.00|700000.00|0.00|0.00&Utility ..."``."""
    lines = []
    for chunk in value.split("&"):
        parts = chunk.split("|")
        if len(parts) < 4:
            continue
        currency = parts[1].strip() or CURRENCY
        try:
            available = to_minor_exact(Decimal(parts[2].strip()), currency)
            current = to_minor_exact(Decimal(parts[3].strip()), currency)
        except (InvalidInput, ArithmeticError):
            continue
        lines.append(BalanceLine(parts[0].strip(), currency, available, current))
    return lines


def plain(data: dict[str, Any]) -> dict[str, Any]:
    """What was said, ready to store: ``load`` already yields plain JSON."""
    return data
