"""A Sync Logs line for every delivery we refuse or cannot read.

The security log keeps the technical trace; the shop owner needs to learn,
in words, that a callback came and was turned away, and what to do about
it (a changed secret, a new provider address, an old callback address).
A line carries the provider, the reason and the size; never the body, its
headers or anything secret.

Refusals need no valid signature, so anyone who knows an address could
otherwise fill the logs: a line per (company, connection, reason) at most
every ``WINDOW`` seconds, the next one saying how many were left out.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from copcca.connectors.registry import get_provider
from copcca.errors import NotFound
from copcca.models.integrations import SyncLog, SyncStatus
from copcca.runtime import Runtime
from copcca.sync.logs import finish_log, start_log

log = logging.getLogger("copcca.webhooks")

WINDOW = 60.0  # seconds between two lines for the same refusal
KIND = "callback"  # a Sync Logs kind that does not colour the health dot


@dataclass(frozen=True)
class Refusal:
    """Why a delivery was turned away, in the shop owner's words."""

    reason: str  # signature | source | address | unreadable
    message: str
    fix: str
    error_kind: str  # auth | data


def _name(provider: str) -> str:
    try:
        return get_provider(provider).name
    except NotFound:
        return provider


def bad_signature(provider: str) -> Refusal:
    name = _name(provider)
    return Refusal(
        "signature",
        f"A delivery from {name} was refused: its signature did not check out. "
        "Nothing was stored or credited.",
        f"If you changed the webhook secret in {name}, save the new one on "
        "this connection's page. If you did not, someone else may be sending "
        "fake deliveries; they cannot credit anything.",
        "auth",
    )


def outside_allowlist(provider: str, ip: str | None) -> Refusal:
    name = _name(provider)
    return Refusal(
        "source",
        f"A callback from {name} at {ip or 'an unknown address'} was refused: "
        "that address is not in this connection's allowlist. Nothing was "
        "credited.",
        f"If {name} now calls from this address, add it to “Only accept "
        "callbacks from” on the connection's page.",
        "auth",
    )


def wrong_address(provider: str) -> Refusal:
    name = _name(provider)
    return Refusal(
        "address",
        f"A callback from {name} came to an address that is not (or no longer) "
        "this connection's, and was refused. Nothing was credited.",
        f"Register the address shown on the connection's page with {name} "
        "(it changes when you disconnect and connect again).",
        "auth",
    )


def unreadable(provider: str, error: str) -> Refusal:
    name = _name(provider)
    return Refusal(
        "unreadable",
        f"A callback from {name} could not be read ({_plain(error)}) and "
        "was refused. Nothing was credited; it is kept for a closer look.",
        "Nothing to do if it does not happen again. If it keeps happening, "
        "contact support with this log.",
        "data",
    )


def _plain(error: str) -> str:
    text = error.strip().rstrip(".")[:160]
    return text[:1].lower() + text[1:]


class _Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[object, ...], float] = {}
        self._left_out: dict[tuple[object, ...], int] = {}

    def admit(self, key: tuple[object, ...]) -> int | None:
        """None to leave this one out, else how many were left out before."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -WINDOW) < WINDOW:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                return None
            if len(self._last) > 10_000:
                self._last.clear()
            self._last[key] = now
            return self._left_out.pop(key, 0)


_throttle = _Throttle()


def note(
    session: Session,
    company_id: uuid.UUID,
    integration_id: uuid.UUID | None,
    provider: str,
    refusal: Refusal,
    *,
    size: int,
) -> SyncLog | None:
    """Add the line to ``session`` (the caller commits), unless the same
    refusal was noted less than ``WINDOW`` seconds ago."""
    left_out = _throttle.admit((company_id, integration_id, provider, refusal.reason))
    if left_out is None:
        return None
    message = refusal.message
    if left_out:
        message += f" {left_out} more like it in the last minute were left out here."
    row = start_log(
        session,
        company_id,
        provider=provider,
        integration_id=integration_id,
        kind=KIND,
        trigger="webhook",
        stream="payments" if _is_payments(provider) else None,
    )
    finish_log(
        row,
        status=SyncStatus.FAILED,
        message=message,
        fix=refusal.fix,
        error_kind=refusal.error_kind,
    )
    row.details = {"refused": refusal.reason, "bytes": size}
    return row


def note_now(
    runtime: Runtime,
    company_id: uuid.UUID,
    integration_id: uuid.UUID | None,
    provider: str,
    refusal: Refusal,
    *,
    size: int,
) -> None:
    """``note`` in its own short transaction, for a refusal that writes
    nothing else. A database problem here never changes the answer."""
    try:
        with runtime.db.transaction(company_id) as session:
            note(session, company_id, integration_id, provider, refusal, size=size)
    except Exception as exc:  # the refusal stands; only its log line is lost
        log.warning("refusal not logged: %s", type(exc).__name__)


def _is_payments(provider: str) -> bool:
    try:
        return get_provider(provider).category.value == "payments"
    except NotFound:
        return False
