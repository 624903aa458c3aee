"""Master keys: created on a new install, refused when missing or wrong
(S4), rotated and pruned with every secret still readable (S2), and a
crashed rotation finished by running it again."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from copcca.config import Settings
from copcca.db.session import Database
from copcca.integrations import credentials
from copcca.integrations import service as integrations
from copcca.models.integrations import Integration
from copcca.runtime import Runtime
from copcca.security import keys
from copcca.security.vault import KeyConfigError, Vault
from tests.helpers import make_company


def _file_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"secret_key": None, "data_dir": tmp_path / "kd"})


def _connect(
    runtime: Runtime, tenant_id: object, principal: object, token: str
) -> None:
    with runtime.db.transaction(tenant_id) as session:  # type: ignore[arg-type]
        integrations.connect(
            session,
            principal,
            runtime.vault,  # type: ignore[arg-type]
            integrations.NewIntegration(
                provider="shopify",
                name=f"Shop {token}",
                credentials={"shop_domain": "a.myshopify.com", "access_token": token},
            ),
        )


def _all_tokens(runtime: Runtime, companies: list[object]) -> list[str]:
    tokens = []
    for company_id in companies:
        with runtime.db.transaction(company_id) as session:  # type: ignore[arg-type]
            for row in session.scalars(
                select(Integration).where(Integration.company_id == company_id)
            ):
                tokens.append(
                    credentials.open_secrets(runtime.vault, row)["access_token"]
                )
    return sorted(tokens)


def test_new_install_creates_a_key_file_and_refuses_to_start_without_it(
    tmp_path: Path,
) -> None:
    from copcca.db.migrate import upgrade

    fresh = Settings(data_dir=tmp_path / "fresh")
    upgrade(fresh.effective_database_url)
    db = Database(fresh.effective_database_url)

    created = keys.load_keyring(fresh, db)
    assert fresh.key_file.exists()
    assert oct(fresh.key_file.stat().st_mode & 0o777) == "0o600"
    assert keys.load_keyring(fresh, db).primary == created.primary
    fresh.key_file.unlink()
    with pytest.raises(KeyConfigError, match="no master key was found"):
        keys.load_keyring(fresh, db)
    db.dispose()


def test_missing_key_with_existing_secrets_refuses_to_start(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    tenant = make_company(runtime)
    _connect(runtime, tenant.company_id, tenant.principal, "tok")
    no_key = _file_settings(settings, tmp_path)
    with pytest.raises(KeyConfigError, match="no master key was found"):
        keys.load_keyring(no_key, Database(settings.effective_database_url))


def test_wrong_key_refuses_to_start(settings: Settings, runtime: Runtime) -> None:
    wrong = settings.model_copy(
        update={
            "secret_key": SecretStr("ktest:" + base64.b64encode(b"w" * 32).decode())
        }
    )
    with pytest.raises(
        KeyConfigError, match="not the one this database was sealed with"
    ):
        keys.load_keyring(wrong, runtime.db)


def test_rotate_reencrypts_everything_and_prune_drops_the_old_key(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    a, b = make_company(runtime, "A"), make_company(runtime, "B")
    for tenant, token in ((a, "tok-a1"), (a, "tok-a2"), (b, "tok-b1")):
        _connect(runtime, tenant.company_id, tenant.principal, token)
    # Move to a key file so rotation can write new keys.
    file_settings = settings.model_copy(update={"secret_key": None})
    runtime.vault.keyring.write(file_settings.key_file)
    old_kid = runtime.vault.keyring.primary

    report = keys.rotate(file_settings, runtime.db, runtime.vault)

    assert report.resealed == 3
    assert report.primary != old_kid
    removed = keys.prune(file_settings, runtime.db, runtime.vault)
    assert removed == [old_kid]
    reloaded = Vault(keys.load_keyring(file_settings, runtime.db))
    runtime.vault = reloaded
    assert set(reloaded.keyring.keys) == {report.primary}
    assert _all_tokens(runtime, [a.company_id, b.company_id]) == [
        "tok-a1",
        "tok-a2",
        "tok-b1",
    ]


def test_crashed_rotation_is_finished_by_running_it_again(
    settings: Settings, runtime: Runtime
) -> None:
    a, b = make_company(runtime, "A"), make_company(runtime, "B")
    _connect(runtime, a.company_id, a.principal, "tok-a")
    _connect(runtime, b.company_id, b.principal, "tok-b")
    file_settings = settings.model_copy(update={"secret_key": None})
    runtime.vault.keyring.write(file_settings.key_file)

    def crash_after_first_company(_message: str) -> None:
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        keys.rotate(
            file_settings, runtime.db, runtime.vault, progress=crash_after_first_company
        )
    report = keys.rotate(file_settings, runtime.db, runtime.vault, new_key=False)

    assert report.resealed == 1
    assert report.already_current == 1
    assert _all_tokens(runtime, [a.company_id, b.company_id]) == ["tok-a", "tok-b"]


def test_swapped_ciphertext_between_rows_reads_as_reconnect_required(
    runtime: Runtime,
) -> None:
    from copcca.errors import VaultError

    a, b = make_company(runtime, "A"), make_company(runtime, "B")
    _connect(runtime, a.company_id, a.principal, "tok-a")
    _connect(runtime, b.company_id, b.principal, "tok-b")
    with runtime.db.transaction(a.company_id) as session:
        sealed_a = session.scalars(
            select(Integration.credentials).where(
                Integration.company_id == a.company_id
            )
        ).one()
    with runtime.db.transaction(b.company_id) as session:
        row = session.scalars(
            select(Integration).where(Integration.company_id == b.company_id)
        ).one()
        row.credentials = sealed_a
    with runtime.db.transaction(b.company_id) as session:
        row = session.scalars(
            select(Integration).where(Integration.company_id == b.company_id)
        ).one()
        with pytest.raises(VaultError):
            credentials.open_secrets(runtime.vault, row)
