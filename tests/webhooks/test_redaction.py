"""No callback token, secret query value or URL password reaches the logs
through httpx's request lines (or uvicorn's access log)."""

from __future__ import annotations

import logging

import httpx
import pytest

import copcca.connectors.http  # noqa: F401 (installs the filter, as the app does)
from copcca.connectors.redaction import redact
from copcca.webhooks.inbound.tokens import company_of

# The shape ``tokens.new_token`` makes, fixed so test ids match across workers.
TOKEN = "0f3c1a5e9b2d4c6e8a0b1c2d3e4f5a6b.Zq3_xW9-LmN4pR7sT1uV2wXy"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (f"http://127.0.0.1:8000/hooks/mpesa/{TOKEN}", TOKEN.split(".")[1]),
        (f"https://hub.example/hooks/c2b/{TOKEN}/confirmation", TOKEN.split(".")[1]),
        (
            "http://shop.example/wp-json/wc/v3/orders?consumer_key=ck_1&consumer_secret=cs_2",
            "cs_2",
        ),
        ("https://api.example/x?page=2&access_token=EAAB123", "EAAB123"),
        ("https://user:hunter2@api.example/x", "hunter2"),
    ],
)
def test_httpx_request_lines_hide_secrets(
    caplog: pytest.LogCaptureFixture, url: str, secret: str
) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with (
        caplog.at_level(logging.INFO, logger="httpx"),
        httpx.Client(transport=transport) as client,
    ):
        client.get(url)
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines, "httpx logged no request line"
    assert all(secret not in line for line in lines)
    assert "***" in redact(url)  # masked, not dropped


def test_the_fixed_token_has_the_real_shape() -> None:
    assert company_of(TOKEN) is not None


def test_ordinary_urls_are_left_alone() -> None:
    line = (
        'HTTP Request: GET https://api.safaricom.co.ke/mpesa/x?page=2 "HTTP/1.1 200 OK"'
    )
    assert redact(line) == line
