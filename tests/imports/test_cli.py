"""``copcca import FILE --into customers [--dry-run]``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from copcca.cli import app
from copcca.config import Settings
from copcca.runtime import Runtime
from tests.conftest import TEST_KEY
from tests.helpers import make_company
from tests.imports.helpers import customers

CSV = "Name,Phone\nAmina,0712345678\nBaraka,0722000111\nBad,12\n"


@pytest.fixture
def env(runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPCCA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COPCCA_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("COPCCA_SECRET_KEY", TEST_KEY)
    from copcca.config import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_dry_run_writes_nothing_then_import_creates_and_rerun_is_idempotent(
    env: None, runtime: Runtime, tmp_path: Path
) -> None:
    tenant = make_company(runtime)
    path = tmp_path / "wateja.csv"
    path.write_text(CSV)
    cli = CliRunner()

    dry = cli.invoke(app, ["import", str(path), "--into", "customers", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 2, update 0, leave 0 unchanged and skip 1 rows" in dry.output
    assert customers(runtime, tenant) == []

    real = cli.invoke(app, ["import", str(path), "--into", "customers"])
    assert real.exit_code == 0, real.output
    assert "2 created, 0 updated, 0 unchanged, 1 skipped" in real.output
    again = cli.invoke(app, ["import", str(path), "--into", "customers"])
    assert "0 created, 0 updated, 2 unchanged, 1 skipped" in again.output
    assert len(customers(runtime, tenant)) == 2


def test_unreadable_file_exits_with_the_fix(
    env: None, runtime: Runtime, tmp_path: Path
) -> None:
    make_company(runtime)
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = CliRunner().invoke(app, ["import", str(path), "--into", "customers"])
    assert result.exit_code == 1
    assert "This file is empty." in result.output


def test_sales_by_cli_dry_run_then_import(
    env: None, runtime: Runtime, tmp_path: Path
) -> None:
    make_company(runtime)
    path = tmp_path / "mauzo.csv"
    path.write_text(
        "Tarehe,Risiti,Bidhaa,Idadi,Jumla\n"
        "05/03/2025,R-1,Unga,2,420\n05/03/2025,R-1,Sukari,1,150\n"
    )
    cli = CliRunner()
    dry = cli.invoke(app, ["import", str(path), "--into", "sales", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would create 0, update 0, leave 0 unchanged and skip 2 rows" in dry.output
    create = ["--on", "unknown_product=create"]
    real = cli.invoke(app, ["import", str(path), "--into", "sales", *create])
    assert real.exit_code == 0, real.output
    assert "1 created, 0 updated, 0 unchanged, 0 skipped" in real.output
    again = cli.invoke(app, ["import", str(path), "--into", "sales", *create])
    assert "0 created, 0 updated, 1 unchanged, 0 skipped" in again.output
