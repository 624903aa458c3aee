"""HMAC helpers shared by every signed protocol. Comparison is always
constant-time (promise W2)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hmac_sha256_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac_sha256(key, message)).decode("ascii")


def constant_time_equal(expected: str | bytes, given: str | bytes) -> bool:
    """Compare two signatures without leaking where they differ."""
    a = expected.encode() if isinstance(expected, str) else expected
    b = given.encode() if isinstance(given, str) else given
    return hmac.compare_digest(a, b)


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()
