"""The Daraja client against the emulator over real HTTP: tokens (number or
string, refreshed on 404.001.03), throttling as HTTP 500 classified as rate
limiting, STK push and query."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from copcca.connectors.errors import AuthError, RateLimited, RequestError
from copcca.connectors.http import ProviderHttp, RetryPolicy, make_client
from copcca.connectors.mpesa.client import (
    DarajaClient,
    DarajaSettings,
    classify_daraja,
)
from copcca.connectors.tokens import TOKENS
from copcca.sandbox.mpesa import SANDBOX_PASSKEY, DarajaEmulator
from copcca.sandbox.server import serving

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def emu() -> Iterator[tuple[DarajaEmulator, str]]:
    emulator = DarajaEmulator(callback_prefix="http://captured.invalid")
    with serving(emulator.app) as url:
        yield emulator, url


def client(
    url: str, slept: list[float], *, secret: str = "sandbox-secret"
) -> DarajaClient:
    settings = DarajaSettings.from_config(
        {
            "shortcode": "174379",
            "consumer_key": "sandbox-key",
            "consumer_secret": secret,
            "passkey": SANDBOX_PASSKEY,
            "api_base_url": url,
        }
    )
    http = ProviderHttp(
        make_client(),
        provider="M-Pesa",
        classifier=classify_daraja,
        retry=RetryPolicy(max_attempts=3),
        sleep=slept.append,
    )
    return DarajaClient(http, settings)


def test_token_is_cached_whether_expires_in_is_a_string_or_a_number(
    emu: tuple[DarajaEmulator, str],
) -> None:
    emulator, url = emu
    c = client(url, [])
    first = c.token(force=True)  # the emulator sends "3599"
    second = c.token(force=True)  # then 3599
    assert first != second
    assert c.token() == second
    assert emulator.counts["token"] == 2


def test_wrong_secret_is_an_auth_error_with_a_fix(
    emu: tuple[DarajaEmulator, str],
) -> None:
    _, url = emu
    with pytest.raises(AuthError) as caught:
        client(url, [], secret="wrong").token(force=True)
    assert caught.value.message == "M-Pesa refused the consumer key and secret."
    assert (
        caught.value.fix
        == "Copy them again from your app on developer.safaricom.co.ke."
    )


def test_expired_token_is_refreshed_once_and_the_call_succeeds(
    emu: tuple[DarajaEmulator, str],
) -> None:
    emulator, url = emu
    c = client(url, [])
    c.token(force=True)
    emulator.expire_tokens()  # Daraja now answers 404.001.03
    answer = c.stk_push(
        phone="+254712345678",
        amount_minor=100_00,
        account_reference="INV0001",
        description="Invoice",
        callback_url="http://captured.invalid/cb",
        at=NOW,
    )
    assert answer["CheckoutRequestID"].startswith("ws_CO_")
    assert emulator.counts["token"] == 2


def test_throttling_500_is_rate_limited_and_retried(
    emu: tuple[DarajaEmulator, str],
) -> None:
    emulator, url = emu
    slept: list[float] = []
    c = client(url, slept)
    c.token()
    emulator.throttle_remaining = 2
    answer = c.stk_push(
        phone="+254712345678",
        amount_minor=100,
        account_reference="X",
        description="x",
        callback_url="http://captured.invalid/cb",
        at=NOW,
    )
    assert answer["ResponseCode"] == "0"
    assert slept == [5.0, 5.0]
    assert emulator.counts["throttled"] == 2


def test_throttling_that_does_not_stop_surfaces_as_rate_limited(
    emu: tuple[DarajaEmulator, str],
) -> None:
    emulator, url = emu
    c = client(url, [])
    c.token()
    emulator.throttle_remaining = 10
    with pytest.raises(RateLimited) as caught:
        c.stk_query("ws_CO_1", at=NOW)
    assert caught.value.details["code"] == "500.003.02"


def test_classifier_knows_daraja_codes_not_messages() -> None:
    def response(status: int, code: str) -> httpx.Response:
        return httpx.Response(
            status, json={"errorCode": code, "errorMessage": "whatever"}
        )

    assert isinstance(classify_daraja(response(500, "500.003.03")), RateLimited)
    token = classify_daraja(response(401, "401.002.01"))
    assert isinstance(token, AuthError)
    assert token.details["token"] is True
    assert isinstance(classify_daraja(response(400, "400.002.02")), RequestError)
    assert classify_daraja(response(500, "")) is None  # the shared layer: transient
    assert classify_daraja(httpx.Response(200, json={})) is None


def test_stk_query_reports_pending_then_final(emu: tuple[DarajaEmulator, str]) -> None:
    emulator, url = emu
    emulator.stk = "pending"
    c = client(url, [])
    checkout = c.stk_push(
        phone="+254712345678",
        amount_minor=500_00,
        account_reference="INV1",
        description="x",
        callback_url="http://captured.invalid/cb",
        at=NOW,
    )["CheckoutRequestID"]
    assert not c.stk_query(checkout, at=NOW).final
    stk = emulator.requests[checkout]
    stk.result_code, stk.result_desc = 1032, "Request cancelled by user"
    answer = c.stk_query(checkout, at=NOW)
    assert answer.final
    assert answer.result_code == 1032


def test_stk_push_refuses_cents_before_calling_daraja(
    emu: tuple[DarajaEmulator, str],
) -> None:
    emulator, url = emu
    with pytest.raises(RequestError):
        client(url, []).stk_push(
            phone="+254712345678",
            amount_minor=150_050,
            account_reference="X",
            description="x",
            callback_url="http://x/cb",
            at=NOW,
        )
    assert "stk_push" not in emulator.counts


@pytest.fixture(autouse=True)
def _fresh_tokens() -> None:
    TOKENS.clear()
