"""Daraja callbacks: unsigned, so they are recognised by the per-company
secret path, an optional IP allowlist and their shape, stored with an id
that is the same for a retried delivery, and answered the way Daraja
expects (providers.md §1.3-1.6)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from copcca.connectors.base import InboundEvent, WebhookAck, WebhookReceiver
from copcca.connectors.errors import DataError
from copcca.connectors.mpesa import mapping
from copcca.payments.rails import Reply
from copcca.security.signatures import sha256_hex

log = logging.getLogger("copcca.connectors.mpesa")

# The callback kinds, the last part of each URL we give Daraja.
STK = "stk"
C2B_CONFIRM = "confirm"
C2B_VALIDATE = "validate"
RESULT = "result"
TIMEOUT = "timeout"
KINDS = frozenset({STK, C2B_CONFIRM, C2B_VALIDATE, RESULT, TIMEOUT})

ACCEPTED = Reply(200, {"ResultCode": 0, "ResultDesc": "Accepted"})
CONFIRMED = Reply(200, {"ResultCode": 0, "ResultDesc": "Success"})
VALIDATION_OK = Reply(200, {"ResultCode": "0", "ResultDesc": "Accepted"})
REJECT_ACCOUNT = Reply(200, {"ResultCode": "C2B00012", "ResultDesc": "Rejected"})
REJECT_SHORTCODE = Reply(200, {"ResultCode": "C2B00015", "ResultDesc": "Rejected"})
REJECT_OTHER = Reply(200, {"ResultCode": "C2B00016", "ResultDesc": "Rejected"})
MALFORMED = Reply(
    400, {"ResultCode": 1, "ResultDesc": "Rejected: not a valid callback"}
)


def event_for(kind: str, body: bytes) -> InboundEvent:
    """One stored event per distinct delivery.

    The id joins the provider's own key with a digest of the exact bytes: a
    retry of the same delivery is stored once (W7), while a different body
    claiming the same receipt is kept too and judged on its own, so a
    forgery can never shadow the real confirmation.
    """
    data = mapping.load(body)
    digest = sha256_hex(body)[:16]
    if kind == STK:
        key = mapping.parse_stk_callback(data).checkout_request_id
        return InboundEvent(f"stk:{key}:{digest}", "mpesa.stk_callback", _safe(data))
    if kind == C2B_CONFIRM:
        # Only the receipt number here: a confirmation is acknowledged fast
        # and its amount, phone and time are read (and checked) when the
        # stored payment is processed; a bad one then fails with its reason.
        key = mapping.c2b_trans_id(data)
        return InboundEvent(
            f"c2b:{key}:{digest}", "mpesa.c2b_confirmation", _safe(data)
        )
    if kind in (RESULT, TIMEOUT):
        result = mapping.parse_result(data)
        key = result.conversation_id or result.originator_conversation_id
        if not key:
            raise DataError("The result names no conversation.")
        return InboundEvent(f"{kind}:{key}:{digest}", f"mpesa.{kind}", _safe(data))
    raise DataError(f"Unknown M-Pesa callback kind '{kind}'.")


def reply_for(kind: str) -> Reply:
    return CONFIRMED if kind == C2B_CONFIRM else ACCEPTED


def _safe(data: dict[str, Any]) -> dict[str, Any]:
    return mapping.plain(data)


EVENT_TYPES = frozenset(
    {"mpesa.stk_callback", "mpesa.c2b_confirmation", "mpesa.result", "mpesa.timeout"}
)
KIND_HEADER = "x-copcca-kind"  # set by the C2B route, which has its own address


def kind_of(body: bytes, headers: Mapping[str, str]) -> str:
    """Which callback this is: named by the route, else told by its shape."""
    named = headers.get(KIND_HEADER, "")
    if named:
        return named
    data = mapping.load(body)
    if isinstance(data.get("Body"), dict):
        return STK
    if isinstance(data.get("Result"), dict):
        return RESULT
    if "TransID" in data:
        return C2B_CONFIRM
    raise DataError("This is not an M-Pesa callback we know.")


def allowed_networks(config: Mapping[str, Any]) -> list[str] | None:
    """The owner's IP allowlist, or None when any source may call."""
    text = str(config.get("allowed_ips") or "").strip()
    if not text:
        return None
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class MpesaReceiver(WebhookReceiver):
    """Daraja signs nothing (providers.md §1.6): the secret path and the
    optional allowlist are checked by the receiving route, the shape here,
    and nothing is credited before Daraja confirms it (promise P4)."""

    known_event_types = EVENT_TYPES

    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        """Unsigned: nothing to check over the bytes."""

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        try:
            return [event_for(kind_of(body, headers), body)]
        except DataError as exc:
            log.warning(
                "M-Pesa callback refused: %s (%d bytes)", exc.message, len(body)
            )
            raise

    def allowed_sources(self, config: Mapping[str, Any]) -> list[str] | None:
        return allowed_networks(config)

    def webhook_ack(self, events: Sequence[InboundEvent]) -> WebhookAck:
        """Daraja's own JSON: "Success" to a C2B confirmation, "Accepted"
        to the rest; a body we could not read is refused."""
        if not events:
            return _MALFORMED_ACK
        if any(e.type == "mpesa.c2b_confirmation" for e in events):
            return _CONFIRMED_ACK
        return _ACCEPTED_ACK


def ack_of(reply: Reply) -> WebhookAck:
    return WebhookAck(reply.status, json.dumps(reply.body).encode())


# Encoded once: Daraja's answers are the same every time.
_MALFORMED_ACK = ack_of(MALFORMED)
_CONFIRMED_ACK = ack_of(CONFIRMED)
_ACCEPTED_ACK = ack_of(ACCEPTED)
