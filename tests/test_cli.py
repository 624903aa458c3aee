"""The ``copcca`` command as a new user runs it (SQLite in a data dir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _copcca(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPCCA_")}
    env["COPCCA_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "copcca.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    assert _copcca(data, "migrate").returncode == 0
    result = _copcca(data, "demo")
    assert result.returncode == 0, result.stderr
    return data


def test_demo_is_created_once_and_its_login_kept(installed: Path) -> None:
    first = (installed / "demo-login.txt").read_text()
    again = _copcca(installed, "demo")
    assert again.returncode == 0
    assert "Demo company ready: sign in as owner@duka-la-amina.test." in again.stdout
    assert (installed / "demo-login.txt").read_text() == first
    assert oct((installed / "secret.keys").stat().st_mode & 0o777) == "0o600"


def test_refuses_to_start_when_the_key_file_is_gone(installed: Path) -> None:
    (installed / "secret.keys").unlink()
    result = _copcca(installed, "worker")
    assert result.returncode == 2
    assert "Refusing to start" in result.stderr
    assert "no master key was found" in result.stderr
    assert not (installed / "secret.keys").exists()


def test_keys_rotate_and_prune(installed: Path) -> None:
    before = json.loads((installed / "secret.keys").read_text())
    rotated = _copcca(installed, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    after = json.loads((installed / "secret.keys").read_text())
    assert after["primary"] != before["primary"]
    assert set(after["keys"]) == {before["primary"], after["primary"]}
    pruned = _copcca(installed, "keys", "prune")
    assert pruned.returncode == 0
    assert set(json.loads((installed / "secret.keys").read_text())["keys"]) == {
        after["primary"]
    }
    assert _copcca(installed, "demo").returncode == 0
