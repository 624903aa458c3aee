"""A tiny stateful "test store" served over real HTTP on 127.0.0.1.

It pages customers and products by an ``(updated_at, id)`` keyset cursor,
checks an API key (or an OAuth token it issued), and can be scripted to
throttle (429 + Retry-After), fail (5xx bursts), hang, or revoke keys, so
the sync engine and its tests go through real client code end to end.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
Reply = tuple[int, dict[str, str], bytes]


class TestStore:
    __test__ = False  # not a pytest class

    def __init__(self, api_key: str = "store-key-123", page_size: int = 5) -> None:
        self.api_key = api_key
        self.page_size = page_size
        self.records: dict[str, dict[int, dict[str, Any]]] = {
            "customers": {},
            "products": {},
        }
        self.tokens: set[str] = set()  # issued by the OAuth endpoint
        self.codes: dict[str, str] = {}  # OAuth code -> token
        self.refresh_calls = 0
        self.script: deque[Reply] = deque()  # replies for the next data calls
        self.delay = 0.0  # seconds each data call takes
        self.on_data: Callable[[int], None] | None = None  # called with the call number
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._tick = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # data -------------------------------------------------------------------
    def _stamp(self) -> str:
        self._tick += 1
        return (EPOCH + timedelta(seconds=self._tick)).isoformat()

    def add(self, stream: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            rows = self.records[stream]
            new_id = max(rows, default=100) + 1
            row = {"id": new_id, **fields, "updated_at": self._stamp()}
            rows[new_id] = row
            return dict(row)

    def update(self, stream: str, record_id: int, **fields: Any) -> dict[str, Any]:
        with self._lock:
            row = self.records[stream][record_id]
            row.update(fields)
            row["updated_at"] = self._stamp()
            return dict(row)

    def seed(self, customers: int = 12, products: int = 7) -> None:
        for n in range(customers):
            self.add(
                "customers",
                name=f"Customer {n}",
                phone=f"07{n:08d}",
                email=f"c{n}@example.co.ke",
            )
        for n in range(products):
            self.add(
                "products",
                name=f"Product {n}",
                sku=f"SKU-{n}",
                price=f"{100 + n}.50",
                stock=n * 3,
            )

    # scripting ----------------------------------------------------------------
    def fail_next(
        self, times: int, status: int, headers: dict[str, str] | None = None
    ) -> None:
        for _ in range(times):
            self.script.append((status, headers or {}, b'{"error":"scripted"}'))

    def data_calls(self) -> int:
        return sum(1 for _m, path, _q in self.requests if path.startswith("/api/"))

    # HTTP ---------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append((method, parts.path, query))
        if parts.path == "/oauth/token" and method == "POST":
            return self._token(body)
        if not self._authorised(headers):
            return 401, {}, b'{"error":"invalid api key"}'
        if parts.path == "/api/ping":
            return 200, {}, b'{"shop":"Test Store"}'
        stream = parts.path.removeprefix("/api/")
        if stream not in self.records:
            return 404, {}, b'{"error":"not found"}'
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            scripted = self.script.popleft() if self.script else None
        if self.on_data is not None:
            self.on_data(self.data_calls())
        try:
            if self.delay:
                time.sleep(self.delay)
            return scripted or self._page(stream, query)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _authorised(self, headers: dict[str, str]) -> bool:
        key = headers.get("x-api-key", "")
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        return key == self.api_key or key in self.tokens or bearer in self.tokens

    def _page(self, stream: str, query: dict[str, str]) -> Reply:
        since, after = query.get("since", ""), int(query.get("after", "0") or 0)
        limit = min(int(query.get("limit", self.page_size)), 100)
        with self._lock:
            rows = sorted(
                (dict(r) for r in self.records[stream].values()),
                key=lambda r: (r["updated_at"], r["id"]),
            )
        rows = [r for r in rows if (r["updated_at"], r["id"]) > (since, after)]
        body = {"items": rows[:limit], "has_more": len(rows) > limit}
        return 200, {}, json.dumps(body).encode()

    def _token(self, body: bytes) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            self.refresh_calls += 1
            token = f"tok-refreshed-{self.refresh_calls}"
            self.tokens.add(token)
            reply = {"access_token": token, "refresh_token": f"r-{self.refresh_calls}"}
            return 200, {}, json.dumps(reply).encode()
        token = self.codes.pop(form.get("code", ""), None)
        if token is None:
            return 400, {}, b'{"error":"invalid_grant"}'
        self.tokens.add(token)
        return 200, {}, json.dumps({"access_token": token}).encode()

    def issue_code(self) -> str:
        code = f"code-{len(self.codes) + 1}-{time.monotonic_ns()}"
        self.codes[code] = f"tok-{code}"
        return code

    # serving ------------------------------------------------------------------
    def start(self) -> str:
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, payload = store.handle(
                    self.command, self.path, headers, body
                )
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def running_store(**kwargs: Any) -> Iterator[TestStore]:
    store = TestStore(**kwargs)
    store.start()
    try:
        yield store
    finally:
        store.stop()
