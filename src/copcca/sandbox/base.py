"""What every emulator shares: callbacks sent later (once, twice, late or
never), a record of what was sent, throttling and slow answers on demand,
and a restriction to call back only the hub it belongs to."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

BEHAVIOURS = ("pay", "pay_twice", "pay_late", "pay_silent", "fail", "pending")


@dataclass
class Sent:
    url: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None


@dataclass
class Emulator:
    callback_delay: float = 0.2
    late_delay: float = 3.0
    behaviour: str = "pay"
    callback_prefix: str | None = None
    answer_delay: float = 0.0
    throttle_remaining: int = 0
    sent: list[Sent] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def drain(self) -> None:
        """Wait until every scheduled callback has been sent."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    async def slow_or_throttled(self) -> JSONResponse | None:
        """Sleep if asked to, then answer 429 while throttling is on."""
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        if self.throttle_remaining > 0:
            self.throttle_remaining -= 1
            self.count("throttled")
            return JSONResponse(
                {"error": "RATE_LIMIT_REACHED", "message": "Too many requests"},
                status_code=429,
                headers={"Retry-After": "1"},
            )
        return None

    @staticmethod
    async def body_of(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def later(
        self,
        delay: float,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._post_later(delay, url, body, headers)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def schedule(
        self,
        behaviour: str,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        """Call back as the behaviour says: once, twice, late, or never."""
        if behaviour in ("pay", "fail"):
            self.later(self.callback_delay, url, body, headers)
        elif behaviour == "pay_twice":
            self.later(self.callback_delay, url, body, headers)
            self.later(self.callback_delay * 2, url, body, headers)
        elif behaviour == "pay_late":
            self.later(self.late_delay, url, body, headers)

    async def _post_later(
        self,
        delay: float,
        url: str,
        body: dict[str, Any],
        headers: dict[str, str] | None,
    ) -> None:
        await asyncio.sleep(delay)
        await self.post(url, body, headers)

    async def post(
        self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> int | None:
        raw = json.dumps(body).encode()
        record = Sent(url, body, dict(headers or {}))
        self.sent.append(record)
        if self.callback_prefix and not url.startswith(self.callback_prefix):
            return None
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.post(
                    url,
                    content=raw,
                    headers={"content-type": "application/json", **(headers or {})},
                )
            record.status = response.status_code
        except httpx.HTTPError:
            record.status = None
        return record.status

    async def control(self, request: Request) -> JSONResponse:
        """GET: state. POST ``{"behaviour", "callback_delay", "throttle",
        "answer_delay"}``."""
        if request.method == "POST":
            data = await self.body_of(request)
            if data.get("behaviour") in BEHAVIOURS:
                self.behaviour = str(data["behaviour"])
            for key in ("callback_delay", "answer_delay"):
                if isinstance(data.get(key), int | float):
                    setattr(self, key, float(data[key]))
            if isinstance(data.get("throttle"), int):
                self.throttle_remaining = int(data["throttle"])
        return JSONResponse(
            {
                "behaviour": self.behaviour,
                "callback_delay": self.callback_delay,
                "throttle": self.throttle_remaining,
                "counts": self.counts,
                "callbacks_sent": len(self.sent),
            }
        )
