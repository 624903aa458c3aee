"""The process runtime: settings, database and vault, built once at start.

Web processes build it in the app factory, workers in ``copcca worker``;
jobs reach it through :func:`get_runtime`.
"""

from __future__ import annotations

from dataclasses import dataclass

from copcca.config import Settings
from copcca.db.session import Database
from copcca.security.keys import load_keyring
from copcca.security.vault import Vault


@dataclass
class Runtime:
    settings: Settings
    db: Database
    vault: Vault


_current: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    """Connect to the database and load the master keys (fail closed)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    vault = Vault(load_keyring(settings, db))
    return Runtime(settings=settings, db=db, vault=vault)


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the runtime is not initialised; call build_runtime first")
    return _current
