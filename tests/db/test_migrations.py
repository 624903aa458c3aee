"""The models and the migrations agree (`alembic check`) on every backend,
and the schema can be taken down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from copcca.db.migrate import alembic_config, upgrade
from tests.conftest import DbUrls


def test_alembic_check_is_clean(db_urls: DbUrls) -> None:
    command.check(alembic_config(db_urls.admin_url))


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    command.check(alembic_config(url))
