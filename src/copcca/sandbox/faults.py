"""Fault injection shared by the emulators: bursts of 5xx, a store that
fails until told otherwise, forced 429s, slow answers and tampered
webhooks, all switchable from the control API."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    fail_next: int = 0  # answer the next N API calls with ``fail_status``
    fail_status: int = 500
    fail_always: bool = False  # keep failing until cleared
    throttle_next: int = 0  # answer the next N API calls with 429
    latency_ms: int = 0
    tamper_webhooks: bool = False  # change the body after signing
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, values: dict[str, Any]) -> None:
        """Apply a control-API change; unknown names are refused."""
        with self._lock:
            for name, value in values.items():
                if name.startswith("_") or not hasattr(self, name):
                    raise ValueError(f"unknown fault setting {name!r}")
                current = getattr(self, name)
                setattr(self, name, type(current)(value))

    def clear(self) -> None:
        with self._lock:
            self.fail_next = self.throttle_next = self.latency_ms = 0
            self.fail_always = self.tamper_webhooks = False
            self.fail_status = 500

    def next_failure(self) -> int | None:
        """The status to fail this call with (429 or 5xx), if any."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        with self._lock:
            if self.fail_always:
                return self.fail_status
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return 429
        return None

    def snapshot(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class LeakyBucket:
    """Shopify's REST limit: a bucket of ``size`` calls leaking ``rate`` a
    second, per access token. Returns the level after the call, or None
    when the call must be refused with 429."""

    def __init__(self, size: int = 40, rate: float = 2.0) -> None:
        self.size = size
        self.rate = rate
        self.enabled = True
        self._levels: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str, now: float | None = None) -> int | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            level, last = self._levels.get(who, (0.0, now))
            level = max(0.0, level - (now - last) * self.rate)
            if not self.enabled:
                self._levels[who] = (level, now)
                return max(1, int(level) + 1)
            if level + 1 > self.size:
                self._levels[who] = (level, now)
                return None
            self._levels[who] = (level + 1, now)
            return math.ceil(level + 1)
