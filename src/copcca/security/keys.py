"""Master-key life cycle: load at start (fail closed), rotate, prune.

Start-up refuses to run when the database holds secrets and no usable key is
configured (S4). Rotation re-encrypts every sealed column under the primary
key, one company per transaction, and skips rows already done, so a crashed
rotation is finished by running it again (S2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from copcca.config import Settings
from copcca.db.session import Database
from copcca.models.integrations import Integration
from copcca.models.system import VaultCheck
from copcca.models.tenancy import Company
from copcca.models.webhooks import IntegrationWebhook
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.security.vault import KeyConfigError, Keyring, Vault, row_context

# Every column that holds a sealed value: (model, column).
SEALED_COLUMNS: tuple[tuple[type[Any], str], ...] = (
    (Integration, "credentials"),
    (IntegrationWebhook, "secret"),
    (IntegrationWebhook, "previous_secret"),
)


def load_keyring(settings: Settings, db: Database) -> Keyring:
    """The configured keys, created on a brand-new install, checked against
    the database. Raises :class:`KeyConfigError` rather than run without."""
    if settings.secret_key is not None:
        keyring = Keyring.from_spec(settings.secret_key.get_secret_value())
    elif settings.key_file.exists():
        keyring = Keyring.from_file(settings.key_file)
    else:
        with db.transaction(write=False) as session:
            sealed_before = session.scalar(select(VaultCheck.kid).limit(1))
        if sealed_before is not None:
            raise KeyConfigError(
                "This database holds encrypted credentials, but no master key was "
                f"found (no COPCCA_SECRET_KEY and no {settings.key_file}). Restore "
                "the key file or set COPCCA_SECRET_KEY; the server will not start "
                "without it."
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        keyring = Keyring.generate()
        keyring.write(settings.key_file)
    verify_keyring(db, Vault(keyring))
    return keyring


def verify_keyring(db: Database, vault: Vault) -> None:
    """Every key the database has used must be present and correct."""
    keys = vault.keyring.keys
    with db.transaction() as session:
        checks = {c.kid: c for c in session.scalars(select(VaultCheck))}
        for kid, check in checks.items():
            if kid not in keys:
                raise KeyConfigError(
                    f"Secrets were sealed with master key '{kid}', which is not "
                    "configured. Add it back (or run `copcca keys prune` while it "
                    "is still configured, before removing it)."
                )
            if not vault.verify_check(kid, check.sealed):
                raise KeyConfigError(
                    f"The configured master key '{kid}' is not the one this "
                    "database was sealed with. Restore the right key."
                )
        for kid in keys:
            if kid not in checks:
                session.add(VaultCheck(kid=kid, sealed=vault.check_value(kid)))


@dataclass
class RotationReport:
    primary: str
    companies: int = 0
    resealed: int = 0
    already_current: int = 0


def rotate(
    settings: Settings,
    db: Database,
    vault: Vault,
    *,
    new_key: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RotationReport:
    """Make a new primary key (file-based keys) and re-encrypt every secret."""
    keyring = vault.keyring
    if new_key:
        if settings.secret_key is not None:
            raise KeyConfigError(
                "Keys come from COPCCA_SECRET_KEY: put a new 'kid:base64' key first "
                "in that list, restart, then run `copcca keys rotate "
                "--reencrypt-only`."
            )
        keyring.add_primary()
        keyring.write(settings.key_file)
        verify_keyring(db, vault)
    report = RotationReport(primary=keyring.primary)
    for company_id in _company_ids(db):
        with db.transaction(company_id) as session:
            done = 0
            for model, column in SEALED_COLUMNS:
                rows = session.scalars(
                    select(model).where(
                        model.company_id == company_id,
                        getattr(model, column).is_not(None),
                    )
                )
                for row in rows:
                    sealed: bytes = getattr(row, column)
                    if Vault.kid_of(sealed) == keyring.primary:
                        report.already_current += 1
                        continue
                    ctx = row_context(model.__tablename__, column, company_id, row.id)
                    plain = vault.open(sealed, context=ctx)
                    setattr(row, column, vault.seal(plain, context=ctx))
                    done += 1
            if done:
                audit.record(
                    session,
                    Principal.system(company_id, "key rotation"),
                    "vault.rotate",
                    f"Master key rotated: {done} stored secrets re-encrypted "
                    f"under key {keyring.primary}.",
                )
        report.companies += 1
        report.resealed += done
        if progress:
            progress(f"company {company_id}: {done} re-encrypted")
    return report


def prune(settings: Settings, db: Database, vault: Vault) -> list[str]:
    """Forget keys no stored secret uses any more. Returns the removed ids."""
    in_use = {vault.keyring.primary}
    for company_id in _company_ids(db):
        with db.transaction(company_id, write=False) as session:
            for model, column in SEALED_COLUMNS:
                values = session.scalars(
                    select(getattr(model, column)).where(
                        model.company_id == company_id,
                        getattr(model, column).is_not(None),
                    )
                )
                in_use.update(Vault.kid_of(v) for v in values)
    unused = sorted(set(vault.keyring.keys) - in_use)
    with db.transaction() as session:
        for kid in unused:
            check = session.get(VaultCheck, kid)
            if check is not None:
                session.delete(check)
    if unused and settings.secret_key is None:
        for kid in unused:
            vault.keyring.keys.pop(kid, None)
        vault.keyring.write(settings.key_file)
    return unused


def _company_ids(db: Database) -> list[Any]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Company.id).order_by(Company.created_at)))
