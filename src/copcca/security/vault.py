"""Secrets at rest: AES-256-GCM with the key id inside every ciphertext and
the owning row as associated data (promises S1, S2, S4).

Layout of a sealed value::

    0x01 | len(kid) | kid | 12-byte nonce | ciphertext + 16-byte tag

The associated data names the table, column, company and row, so a
ciphertext copied to another row, company or column fails to open.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from copcca.errors import VaultError

VERSION = b"\x01"
NONCE_BYTES = 12
KEY_BYTES = 32
CHECK_PLAINTEXT = b"copcca-vault-check"


class KeyConfigError(Exception):
    """The master key is missing, malformed or wrong: refuse to start."""


def new_kid() -> str:
    return "k" + secrets.token_hex(4)


@dataclass
class Keyring:
    """Master keys by id; ``primary`` seals, every key can open."""

    primary: str
    keys: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> Keyring:
        kid = new_kid()
        return cls(primary=kid, keys={kid: AESGCM.generate_key(bit_length=256)})

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        """Parse ``kid:base64,kid:base64`` (first is primary) or one base64 key."""
        entries = [part.strip() for part in spec.split(",") if part.strip()]
        if not entries:
            raise KeyConfigError("COPCCA_SECRET_KEY is empty.")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for entry in entries:
            kid, _, b64 = entry.rpartition(":")
            kid = kid or "env"
            keys[kid] = _decode_key(b64, source="COPCCA_SECRET_KEY")
            order.append(kid)
        return cls(primary=order[0], keys=keys)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        try:
            data = json.loads(path.read_text())
            keys = {
                kid: _decode_key(b64, source=str(path))
                for kid, b64 in data["keys"].items()
            }
            primary = data["primary"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyConfigError(f"The key file {path} cannot be read: {exc}") from exc
        if primary not in keys:
            raise KeyConfigError(f"The key file {path} names a primary key it lacks.")
        return cls(primary=primary, keys=keys)

    def write(self, path: Path) -> None:
        """Write atomically, readable by the owner only."""
        data = {
            "primary": self.primary,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def add_primary(self) -> str:
        kid = new_kid()
        self.keys[kid] = AESGCM.generate_key(bit_length=256)
        self.primary = kid
        return kid


def _decode_key(b64: str, *, source: str) -> bytes:
    try:
        key = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise KeyConfigError(f"A key in {source} is not valid base64.") from exc
    if len(key) != KEY_BYTES:
        raise KeyConfigError(f"A key in {source} is not 32 bytes (AES-256).")
    return key


def row_context(table: str, column: str, company_id: object, row_id: object) -> str:
    """The associated data that binds a ciphertext to its row."""
    return f"{table}.{column}:{company_id}:{row_id}"


class Vault:
    """Seals and opens secrets with a keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        kid = self.keyring.primary
        key = self.keyring.keys[kid]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext, context.encode())
        kid_raw = kid.encode()
        return VERSION + bytes([len(kid_raw)]) + kid_raw + nonce + sealed

    def open(self, sealed: bytes, *, context: str) -> bytes:
        kid, nonce, body = self._split(sealed)
        key = self.keyring.keys.get(kid)
        if key is None:
            raise VaultError(
                "A stored secret was sealed with a key this server does not have.",
                fix="Restore the missing master key, or reconnect the system.",
            )
        try:
            return AESGCM(key).decrypt(nonce, body, context.encode())
        except InvalidTag as exc:
            raise VaultError(
                "A stored secret could not be opened (it was changed or moved).",
                fix="Reconnect the system to enter its credentials again.",
            ) from exc

    def seal_json(self, value: dict[str, Any], *, context: str) -> bytes:
        return self.seal(json.dumps(value, sort_keys=True).encode(), context=context)

    def open_json(self, sealed: bytes, *, context: str) -> dict[str, Any]:
        data = json.loads(self.open(sealed, context=context))
        if not isinstance(data, dict):
            raise VaultError("A stored secret has the wrong shape.")
        return data

    @staticmethod
    def kid_of(sealed: bytes) -> str:
        return Vault._split(sealed)[0]

    @staticmethod
    def _split(sealed: bytes) -> tuple[str, bytes, bytes]:
        if len(sealed) < 2 or sealed[:1] != VERSION:
            raise VaultError("A stored secret is not in a format this server reads.")
        n = sealed[1]
        kid = sealed[2 : 2 + n].decode("ascii", errors="replace")
        nonce = sealed[2 + n : 2 + n + NONCE_BYTES]
        body = sealed[2 + n + NONCE_BYTES :]
        if len(nonce) != NONCE_BYTES or len(body) < 16:
            raise VaultError("A stored secret is truncated.")
        return kid, nonce, body

    def check_value(self, kid: str) -> bytes:
        """A sealed known plaintext under ``kid``, stored to verify keys at start."""
        saved = self.keyring.primary
        self.keyring.primary = kid
        try:
            return self.seal(CHECK_PLAINTEXT, context=f"vault_checks:{kid}")
        finally:
            self.keyring.primary = saved

    def verify_check(self, kid: str, sealed: bytes) -> bool:
        try:
            return self.open(sealed, context=f"vault_checks:{kid}") == CHECK_PLAINTEXT
        except VaultError:
            return False
