"""The Shopify OAuth ``hmac`` check, with Shopify's published vectors
(Shopify/shopify_python_api ``test/session_test.py``, providers.md §0.2)."""

from __future__ import annotations

import time

import pytest

from copcca.connectors.errors import AuthError
from copcca.connectors.shopify import oauth

SECRET = "hush"


def test_published_vector_code_shop_timestamp() -> None:
    params = {
        "code": "a94a110d86d2452eb3e2af4cfb8a3828",
        "shop": "some-shop.myshopify.com",
        "timestamp": "1337178173",
    }
    assert (
        oauth.calculate_hmac(params, SECRET)
        == "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2"
    )


def test_published_vector_list_param_keeps_its_order() -> None:
    params = {"shop": "some-shop.myshopify.com", "ids[]": ["2", "1"]}
    assert (
        oauth.signing_message(params) == 'ids=["2", "1"]&shop=some-shop.myshopify.com'
    )
    assert (
        oauth.calculate_hmac(params, SECRET)
        == "b93b9f82996f6f8bf9f1b7bbddec284c8fabacdc4e12dc80550b4705f3003b1e"
    )


def _signed(**params: str) -> dict[str, str]:
    return {**params, "hmac": oauth.calculate_hmac(params, SECRET)}


def test_a_fresh_signed_callback_passes() -> None:
    now = time.time()
    params = _signed(
        code="abc", shop="duka.myshopify.com", state="s1", timestamp=str(int(now))
    )
    oauth.verify_callback(params, SECRET, now=now)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"code": "other"}, "tampered code"),
        ({"hmac": "0" * 64}, "wrong hmac"),
        ({"hmac": ""}, "missing hmac"),
    ],
)
def test_a_tampered_callback_is_refused(change: dict[str, str], why: str) -> None:
    params = {
        **_signed(code="abc", shop="duka.myshopify.com", timestamp="1000"),
        **change,
    }
    with pytest.raises(AuthError):
        oauth.verify_callback(params, SECRET, now=1000)


def test_a_callback_older_than_a_day_is_refused() -> None:
    params = _signed(code="abc", shop="duka.myshopify.com", timestamp="1000")
    with pytest.raises(AuthError, match="more than a day old"):
        oauth.verify_callback(params, SECRET, now=1000 + 24 * 3600 + 1)


@pytest.mark.parametrize(
    "shop",
    ["evil.example.com", "duka.myshopify.com.evil.com", "", "DUKA.myshopify.com/x"],
)
def test_only_myshopify_addresses_are_accepted(shop: str) -> None:
    params = _signed(code="abc", shop=shop, timestamp="1000")
    with pytest.raises(AuthError):
        oauth.verify_callback(params, SECRET, now=1000)


def test_escaping_of_percent_ampersand_and_equals_in_keys() -> None:
    message = oauth.signing_message({"a&b": "x%y&z", "k=v": "1", "hmac": "ignored"})
    assert message == "a%26b=x%25y%26z&k%3Dv=1"


def test_hmac_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    import hmac

    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    params = _signed(code="abc", shop="duka.myshopify.com", timestamp="1000")
    oauth.verify_callback(params, SECRET, now=1000)
    assert calls, "the hmac must be compared with hmac.compare_digest"
