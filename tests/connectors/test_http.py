"""The shared HTTP layer: classification, Retry-After (seconds and HTTP
date), retries only for retryable errors with capped backoff (J4, counted
with an injected sleep), per-connection limits that honour Retry-After
(J8), unsafe methods not replayed, and logs without query strings,
headers or bodies."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from copcca.connectors.errors import (
    AuthError,
    RateLimited,
    RequestError,
    TransientError,
)
from copcca.connectors.http import (
    DEFAULT_TIMEOUT,
    ProviderHttp,
    RateLimiter,
    RetryPolicy,
    classify,
    connection_limiter,
    make_client,
    parse_retry_after,
    read_json,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def scripted(
    *replies: httpx.Response | Exception,
) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    return make_client(
        "https://shop.example", transport=httpx.MockTransport(handler)
    ), seen


def top_of_cap(_low: float, high: float) -> float:
    return high


# Retry-After ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.0", 2.0),
        ("120", 120.0),
        ("  7 ", 7.0),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(seconds=5), usegmt=True), 0.0),
        ("Wed, 21 Oct 2015 07:28:00", 0.0),  # an HTTP-date without a zone, past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, now=NOW) == expected


# classification ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (204, None),
        (301, RequestError),
        (400, RequestError),
        (401, AuthError),
        (403, AuthError),
        (404, RequestError),
        (408, TransientError),
        (429, RateLimited),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
        (599, TransientError),
    ],
)
def test_status_codes_map_to_typed_errors(status: int, kind: type | None) -> None:
    error = classify(httpx.Response(status), "Shop")
    assert type(error) is kind if kind else error is None


def test_client_always_has_timeouts_and_never_follows_redirects() -> None:
    client = make_client("https://shop.example")
    assert client.timeout == DEFAULT_TIMEOUT
    assert client.timeout.connect == 10.0
    assert client.follow_redirects is False


# retries (J4) -------------------------------------------------------------------


def test_5xx_is_retried_with_capped_exponential_backoff_then_raised() -> None:
    client, seen = scripted(httpx.Response(503))
    fake = FakeTime()
    http = ProviderHttp(
        client,
        provider="Shop",
        retry=RetryPolicy(
            max_attempts=5, base_delay=1.0, max_delay=5.0, jitter=top_of_cap
        ),
        sleep=fake.sleep,
    )

    with pytest.raises(TransientError) as caught:
        http.get("/orders.json")

    assert len(seen) == 5
    assert fake.sleeps == [2.0, 4.0, 5.0, 5.0]  # base * 2**n, capped at 5
    assert caught.value.status == 503
    assert http.attempts == 5


def test_backoff_is_jittered_within_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    for attempt in range(1, 10):
        waits = [policy.backoff(attempt) for _ in range(50)]
        assert all(0 <= w <= min(30.0, 0.5 * 2**attempt) for w in waits)
        assert len(set(waits)) > 1  # jitter, not a fixed delay


def test_auth_and_request_errors_are_not_retried() -> None:
    for status, error in ((401, AuthError), (422, RequestError)):
        client, seen = scripted(httpx.Response(status))
        fake = FakeTime()
        http = ProviderHttp(client, provider="Shop", sleep=fake.sleep)
        with pytest.raises(error):
            http.get("/x")
        assert (len(seen), fake.sleeps) == (1, [])


def test_retry_after_wins_over_backoff_then_success() -> None:
    client, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "2.0"}),
        httpx.Response(503, headers={"Retry-After": "3"}),
        httpx.Response(200, json={"ok": True}),
    )
    fake = FakeTime()
    http = ProviderHttp(client, provider="Shop", sleep=fake.sleep)

    assert http.json("GET", "/orders.json") == {"ok": True}
    assert fake.sleeps == [2.0, 3.0]
    assert http.waited == 5.0
    assert len(seen) == 3


def test_retry_after_longer_than_allowed_ends_the_call_with_its_wait() -> None:
    client, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    fake = FakeTime()
    http = ProviderHttp(client, provider="Shop", sleep=fake.sleep)

    with pytest.raises(RateLimited) as caught:
        http.get("/x")

    assert caught.value.retry_after == 3600.0
    assert (len(seen), fake.sleeps) == (1, [])


def test_timeouts_and_connection_errors_are_retried() -> None:
    client, seen = scripted(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=[]),
    )
    fake = FakeTime()
    http = ProviderHttp(
        client, provider="Shop", retry=RetryPolicy(jitter=top_of_cap), sleep=fake.sleep
    )

    assert http.json("GET", "/x") == []
    assert len(seen) == 3
    assert fake.sleeps == [1.0, 2.0]


def test_post_is_not_replayed_after_it_may_have_reached_the_provider() -> None:
    for reply in (httpx.Response(500), httpx.ReadTimeout("slow")):
        client, seen = scripted(reply)
        http = ProviderHttp(client, provider="Shop", sleep=FakeTime().sleep)
        with pytest.raises(TransientError):
            http.post("/stkpush", json={"amount": 10})
        assert len(seen) == 1


def test_post_is_retried_when_refused_or_never_sent_or_declared_idempotent() -> None:
    client, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.ConnectError("refused"),
        httpx.Response(500),
        httpx.Response(200, json={"id": 1}),
    )
    http = ProviderHttp(client, provider="Shop", sleep=FakeTime().sleep)

    reply = http.request("POST", "/orders", json={}, idempotent=True)

    assert reply.json() == {"id": 1}
    assert len(seen) == 4


# rate limits (J8) -------------------------------------------------------------------


def test_token_bucket_spaces_requests_at_the_rate() -> None:
    fake = FakeTime()
    limiter = RateLimiter(2.0, burst=2, clock=fake.clock, sleep=fake.sleep)

    waits = [limiter.acquire() for _ in range(5)]

    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]
    assert fake.now == 1001.5


def test_retry_after_pauses_the_whole_connection_not_other_connections() -> None:
    fake = FakeTime()
    shop_a = connection_limiter("conn-a", 100.0, 10, clock=fake.clock, sleep=fake.sleep)
    shop_b = connection_limiter("conn-b", 100.0, 10, clock=fake.clock, sleep=fake.sleep)
    assert connection_limiter("conn-a", 100.0, 10) is shop_a  # one per connection
    throttled, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200)
    )
    http = ProviderHttp(throttled, provider="Shop", limiter=shop_a, sleep=fake.sleep)

    http.get("/orders.json")
    assert fake.sleeps == [3.0]
    assert http.waited == 3.0

    shop_a.pause(4.0)  # a second request of the same shop waits out the pause
    assert shop_a.acquire() == 4.0
    assert shop_b.acquire() == 0.0  # another shop is not slowed


# logs ---------------------------------------------------------------------------------


def test_logs_carry_no_query_string_headers_or_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, _ = scripted(httpx.Response(200, json={"token": "RESPONSE-SECRET"}))
    http = ProviderHttp(client, provider="Shop", sleep=FakeTime().sleep)
    failing, _ = scripted(httpx.ConnectError("refused"))
    broken = ProviderHttp(
        failing,
        provider="Shop",
        retry=RetryPolicy(max_attempts=1),
        sleep=FakeTime().sleep,
    )

    with caplog.at_level(logging.DEBUG, logger="copcca.http"):
        http.get(
            "/admin/orders.json",
            params={"access_token": "QUERY-SECRET"},
            headers={"X-Shopify-Access-Token": "HEADER-SECRET"},
        )
        with pytest.raises(TransientError):
            broken.post("/pay?key=QUERY-SECRET-2", json={"pin": "BODY-SECRET"})

    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET shop.example/admin/orders.json -> 200" in text
    assert "POST shop.example/pay failed: ConnectError" in text
    for secret in ("QUERY-SECRET", "HEADER-SECRET", "RESPONSE-SECRET", "BODY-SECRET"):
        assert secret not in text


@pytest.mark.parametrize(
    "body",
    [
        '{"orders": [{"id": 5000000001, "total_price": "1200.00", "name": "Ñairobi 🙂"}]}',
        '{"id": 123456789012345678901234567890}',  # beyond 64 bits: stays exact
        '{"rate": NaN, "big": 1e400}',
        '{"a": 1, "a": 2}',
    ],
)
def test_read_json_reads_what_the_standard_library_reads(body: str) -> None:
    for encoding in ("utf-8", "utf-16"):
        response = httpx.Response(200, content=body.encode(encoding))
        assert repr(read_json(response)) == repr(json.loads(body))


def test_read_json_refuses_what_is_not_json_with_a_value_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        read_json(httpx.Response(200, content=b"<html>Bad gateway</html>"))
