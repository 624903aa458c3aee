"""Shared fixtures. Database tests run on SQLite always and on PostgreSQL
when ``COPCCA_TEST_PG_URL`` names a superuser connection (CI sets it); the
PostgreSQL variants are skipped, with the reason, when it is not set."""

from __future__ import annotations

import base64
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("COPCCA_DATA_DIR", "/tmp/copcca-test-default")

from copcca.config import Settings
from copcca.db.base import Base
from copcca.db.migrate import upgrade
from copcca.db.session import normalise_url
from copcca.jobs.queue import configure_queue
from copcca.runtime import Runtime, build_runtime, set_runtime

pytest_plugins = ["tests.connectors.fixtures"]

PG_URL = os.environ.get("COPCCA_TEST_PG_URL")
TEST_KEY = "ktest:" + base64.b64encode(b"k" * 32).decode()
APP_ROLE = "copcca_app"

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL, reason="PostgreSQL not configured: set COPCCA_TEST_PG_URL"
            ),
        ],
    ),
]


@dataclass(frozen=True)
class DbUrls:
    backend: str
    app_url: str
    admin_url: str

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"


def _create_pg_database(admin_url: str) -> tuple[str, str, str]:
    name = f"copcca_test_{secrets.token_hex(4)}"
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = make_url(normalise_url(admin_url))
    admin = base.set(database=name)
    app = admin.set(username=APP_ROLE, password=None)
    return (
        name,
        admin.render_as_string(hide_password=False),
        app.render_as_string(hide_password=False),
    )


def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbUrls]:
    """A migrated database per backend, shared by the session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "copcca.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield DbUrls("sqlite", url, url)
        return
    assert PG_URL
    name, admin, app = _create_pg_database(PG_URL)
    upgrade(admin)
    try:
        yield DbUrls("postgresql", app, admin)
    finally:
        _drop_pg_database(PG_URL, name)


def truncate_all(urls: DbUrls) -> None:
    engine = create_engine(normalise_url(urls.admin_url))
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if urls.is_postgres:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in reversed(tables):
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def settings(db_urls: DbUrls, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_urls.app_url,
        migration_database_url=db_urls.admin_url,
        secret_key=TEST_KEY,
        base_url="http://testserver",
    )


@pytest.fixture
def runtime(settings: Settings, db_urls: DbUrls) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    set_runtime(rt)
    configure_queue(settings, immediate=True)
    try:
        yield rt
    finally:
        set_runtime(None)
        rt.db.dispose()
        truncate_all(db_urls)


@pytest.fixture
def app(runtime: Runtime, settings: Settings):  # type: ignore[no-untyped-def]
    from copcca.main import create_app

    return create_app(settings, runtime=runtime)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


def unique_email(prefix: str = "owner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.co.ke"


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Say once, with counts, which tests were skipped and why."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = (
            str(report.longrepr[-1])
            if isinstance(report.longrepr, tuple)
            else "skipped"
        )
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped tests")
        for reason, count in sorted(reasons.items()):
            terminalreporter.write_line(f"{count:5d} skipped: {reason}")
