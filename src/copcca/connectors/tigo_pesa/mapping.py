"""Tigo Pesa push payloads (providers.md §3; Tigo issues the gateway URLs
per merchant, and its codes are unconfirmed against an official spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copcca.connectors.errors import DataError
from copcca.crm.money import to_minor_exact
from copcca.errors import InvalidInput

CURRENCY = "TZS"
# The answers Tigo's SDKs send back to a push callback.
CALLBACK_OK = "BILLER-30-0000-S"
CALLBACK_FAILED = "BILLER-30-3030-E"


@dataclass(frozen=True)
class Callback:
    reference_id: str
    succeeded: bool
    description: str
    mfs_transaction_id: str | None
    amount_minor: int | None


def parse_callback(data: dict[str, Any]) -> Callback:
    """``{"Status":true,"Description","MFSTransactionID","ReferenceID","Amount"}``."""
    reference = str(data.get("ReferenceID") or "").strip()
    if not reference:
        raise DataError("The Tigo callback names no ReferenceID.")
    status = data.get("Status")
    if not isinstance(status, bool):
        raise DataError("The Tigo callback has no true/false Status.")
    amount = None
    if status:
        try:
            amount = to_minor_exact(str(data.get("Amount") or "").strip(), CURRENCY)
        except InvalidInput as exc:
            raise DataError("The Tigo callback amount is not a number.") from exc
    return Callback(
        reference_id=reference,
        succeeded=status,
        description=str(data.get("Description") or "")[:300],
        mfs_transaction_id=str(data.get("MFSTransactionID") or "").strip() or None,
        amount_minor=amount,
    )


def callback_reply(reference_id: str, succeeded: bool) -> dict[str, Any]:
    return {
        "ResponseCode": CALLBACK_OK if succeeded else CALLBACK_FAILED,
        "ResponseDescription": "Callback Successful"
        if succeeded
        else "Callback Failed",
        "ResponseStatus": succeeded,
        "ReferenceID": reference_id,
    }
