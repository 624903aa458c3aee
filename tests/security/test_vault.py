"""AES-GCM sealing bound to its row (S1) with the key id inside (S2)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copcca.errors import VaultError
from copcca.security.vault import KeyConfigError, Keyring, Vault, row_context

CTX = row_context("integrations", "credentials", "company-a", "row-1")


def test_round_trip_and_kid_is_in_the_ciphertext() -> None:
    vault = Vault(Keyring.generate())
    sealed = vault.seal(b"shpat_secret", context=CTX)
    assert b"shpat_secret" not in sealed
    assert Vault.kid_of(sealed) == vault.keyring.primary
    assert vault.open(sealed, context=CTX) == b"shpat_secret"


@pytest.mark.parametrize(
    "other",
    [
        row_context("integrations", "credentials", "company-b", "row-1"),
        row_context("integrations", "credentials", "company-a", "row-2"),
        row_context("integration_webhooks", "secret", "company-a", "row-1"),
    ],
)
def test_ciphertext_moved_to_another_row_company_or_column_fails(other: str) -> None:
    vault = Vault(Keyring.generate())
    sealed = vault.seal(b"secret", context=CTX)
    with pytest.raises(VaultError) as info:
        vault.open(sealed, context=other)
    assert info.value.code == "reconnect_required"


def test_tampered_ciphertext_fails() -> None:
    vault = Vault(Keyring.generate())
    sealed = bytearray(vault.seal(b"secret", context=CTX))
    sealed[-1] ^= 1
    with pytest.raises(VaultError):
        vault.open(bytes(sealed), context=CTX)


def test_a_key_not_in_the_ring_is_named_not_guessed() -> None:
    sealed = Vault(Keyring.generate()).seal(b"x", context=CTX)
    with pytest.raises(VaultError, match="key this server does not have"):
        Vault(Keyring.generate()).open(sealed, context=CTX)


def test_old_key_still_opens_after_a_new_primary() -> None:
    keyring = Keyring.generate()
    vault = Vault(keyring)
    old = vault.seal(b"old", context=CTX)
    keyring.add_primary()
    new = vault.seal(b"new", context=CTX)
    assert Vault.kid_of(old) != Vault.kid_of(new)
    assert (vault.open(old, context=CTX), vault.open(new, context=CTX)) == (
        b"old",
        b"new",
    )


def test_key_spec_parsing() -> None:
    k1 = base64.b64encode(b"1" * 32).decode()
    k2 = base64.b64encode(b"2" * 32).decode()
    ring = Keyring.from_spec(f"new:{k2}, old:{k1}")
    assert ring.primary == "new"
    assert set(ring.keys) == {"new", "old"}
    with pytest.raises(KeyConfigError, match="32 bytes"):
        Keyring.from_spec(base64.b64encode(b"short").decode())
    with pytest.raises(KeyConfigError, match="not valid base64"):
        Keyring.from_spec("kid:not base64!!")


@given(st.binary(max_size=2048))
def test_any_bytes_round_trip(data: bytes) -> None:
    vault = Vault(Keyring(primary="k", keys={"k": b"k" * 32}))
    assert vault.open(vault.seal(data, context=CTX), context=CTX) == data
