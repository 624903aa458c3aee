"""Group commit for M-Pesa C2B confirmations, the busiest callback path.

Each confirmation still gets the inbox's guarantees (stored once per event
id with ON CONFLICT DO NOTHING, 2xx only after the commit that holds it:
W6, W7), but instead of one transaction, one queue enqueue and one thread
hop per callback, a single writer thread stores whatever arrived meanwhile
in one transaction per company and then answers them all. Under load a
commit carries dozens of callbacks; when idle it carries one, at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from copcca.connectors.base import InboundEvent
from copcca.db import wal
from copcca.db.base import utcnow
from copcca.runtime import Runtime
from copcca.webhooks.inbound import pacing, service
from copcca.webhooks.inbound.repository import InboxRepository

log = logging.getLogger("copcca.payments")
MAX_BATCH = 500
PROCESS_WINDOW = 0.5  # seconds: one processing job per integration per window
TARGET_TTL = 5.0  # seconds a token's connection is remembered (disconnects apply after)


@dataclass
class _Item:
    company_id: uuid.UUID
    integration_id: uuid.UUID
    rows: list[dict[str, Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int]


class InboxBatcher:
    """One writer thread per process (per runtime)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._targets: dict[tuple[str, str], tuple[float, service.Target]] = {}
        self._lock = threading.Lock()
        self._scheduled: dict[tuple[uuid.UUID, uuid.UUID], float] = {}
        self._sqlite = not runtime.db.is_postgres
        self._checkpointer = wal.checkpointer(runtime.db)
        self._thread = threading.Thread(
            target=self._run, name="inbox-batcher", daemon=True
        )
        self._thread.start()

    # target lookup ---------------------------------------------------------
    def cached(self, provider: str, token: str) -> service.Target | None:
        with self._lock:
            found = self._targets.get((provider, token))
        return found[1] if found is not None and found[0] > time.monotonic() else None

    def target(self, provider: str, token: str) -> service.Target:
        """``service.find_target``, remembered for a few seconds."""
        key = (provider, token)
        now = time.monotonic()
        found = self.cached(provider, token)
        if found is not None:
            return found
        target = service.find_target(self.runtime, provider, token)
        with self._lock:
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[key] = (now + TARGET_TTL, target)
        return target

    # storing ---------------------------------------------------------------
    async def store(self, target: service.Target, rows: list[dict[str, Any]]) -> int:
        """Store ``rows`` for ``target``; returns how many were new. Raises
        the database's error if the commit failed (the route answers 503)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put(
            _Item(target.company_id, target.integration_id, rows, loop, future)
        )
        return await future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            by_company: dict[uuid.UUID, list[_Item]] = defaultdict(list)
            for item in batch:
                by_company[item.company_id].append(item)
            for company_id, items in by_company.items():
                self._commit(company_id, items)

    def _process_soon(self, company_id: uuid.UUID, integration_id: uuid.UUID) -> None:
        """Have the inbox job process this integration, once per window.

        The job is scheduled ``PROCESS_WINDOW`` after the first new row of a
        window and cannot start earlier, so every row committed inside the
        window is already visible to it; the first commit after the window
        schedules the next job. One queue write per window, not per batch,
        and after the answers: a queue write is off the callback's clock (a
        lost one is re-sent by the scheduler, the rows being committed).
        """
        key = (company_id, integration_id)
        now = time.monotonic()
        if self._scheduled.get(key, 0.0) > now:
            return
        self._scheduled[key] = now + PROCESS_WINDOW
        try:
            service.enqueue_processing(company_id, integration_id, delay=PROCESS_WINDOW)
        except Exception as exc:  # the scheduler re-sends pending rows
            log.warning("inbox job not queued: %s", type(exc).__name__)

    def _commit(self, company_id: uuid.UUID, items: list[_Item]) -> None:
        rows = [r for i in items for r in i.rows]
        try:
            with self.runtime.db.transaction(company_id) as session:
                if self._sqlite:
                    wal.hold_checkpoints(session)
                new = InboxRepository(session, company_id).insert_many_once(rows)
        except Exception as exc:  # every waiting callback learns it was not stored
            log.warning("inbox batch not stored: %s", type(exc).__name__)
            _answer(items, exc)
            return
        pacing.stored()
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        stored = [sum(1 for r in i.rows if r["id"] in new) for i in items]
        _answer(items, stored)
        for integration_id in {
            i.integration_id for i, n in zip(items, stored, strict=True) if n
        }:
            self._process_soon(company_id, integration_id)


def _answer(items: list[_Item], outcome: list[int] | BaseException) -> None:
    """Wake each waiting route: one hop into each event loop per batch, not
    one per callback (each hop is a write to the loop's wake-up pipe)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], Any]]]
    by_loop = defaultdict(list)
    for n, item in enumerate(items):
        result = outcome if isinstance(outcome, BaseException) else outcome[n]
        by_loop[item.loop].append((item.future, result))
    for loop, pairs in by_loop.items():
        loop.call_soon_threadsafe(_settle, pairs)


def _settle(pairs: list[tuple[asyncio.Future[int], Any]]) -> None:
    for future, result in pairs:
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


_batchers: dict[int, InboxBatcher] = {}
_guard = threading.Lock()


def batcher_for(runtime: Runtime) -> InboxBatcher:
    with _guard:
        found = _batchers.get(id(runtime))
        if found is None or found.runtime is not runtime:
            found = _batchers[id(runtime)] = InboxBatcher(runtime)
        return found


class _Ids:
    """Row ids from a PRNG seeded by the OS: ``uuid4`` reads the kernel's
    random source per call, which we measured at over a millisecond under
    load on this path. Ids need to be unique, not unpredictable."""

    def __init__(self) -> None:
        self._rng = random.Random(os.urandom(32))
        self._lock = threading.Lock()

    def __call__(self) -> uuid.UUID:
        with self._lock:
            bits = self._rng.getrandbits(128)
        return uuid.UUID(int=bits, version=4)


new_id = _Ids()


def rows_for(
    target: service.Target, delivery: service.Delivery
) -> tuple[list[InboundEvent], list[dict[str, Any]]]:
    """Parse as the inbox does: the events and the rows to store (the
    caller has checked the delivery with ``service.check_delivery``).
    Raises ``DataError``/``ValueError`` for a body that cannot be read (the
    caller hands those to the ordinary path, which keeps and logs them)."""
    events = target.receiver.parse_webhook(delivery.body, delivery.headers)
    kept = service.kept_headers(delivery.headers)
    now = utcnow()
    rows = [
        service.inbox_row(
            target, delivery, event, row_id=new_id(), received_at=now, headers=kept
        )
        for event in events
    ]
    return events, rows
