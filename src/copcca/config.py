"""Settings, read from the environment with the ``COPCCA_`` prefix (12-factor)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment can change. Defaults run the embedded SQLite mode."""

    model_config = SettingsConfigDict(env_prefix="COPCCA_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL the app connects with. Default: SQLite in data_dir.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the schema owner, used only by migrations (PostgreSQL).",
    )
    app_db_role: str = "copcca_app"
    redis_url: str | None = None
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master keys 'kid:base64key,...' (first is primary), or one "
        "base64 key. Default: a key file in data_dir created on first run.",
    )
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool | None = None
    session_days: int = 14
    default_locale: str = "en"
    max_webhook_bytes: int = 1_000_000
    webhook_max_attempts: int = 5
    sync_max_attempts: int = Field(
        default=5, description="Tries of one sync before it ends failed (J5)."
    )
    sync_retry_base_seconds: float = 60.0
    sync_retry_max_seconds: float = 1800.0
    sync_lease_seconds: int = Field(
        default=600,
        description="A running sync not heard from for this long is resumed "
        "by another worker.",
    )
    api_page_size: int = 50
    worker_threads: int = 2
    demo: bool = False

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "copcca.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def effective_migration_url(self) -> str:
        return self.migration_database_url or self.effective_database_url

    @property
    def is_postgres(self) -> bool:
        return self.effective_database_url.startswith("postgresql")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.keys"

    @property
    def queue_file(self) -> Path:
        return self.data_dir / "jobs.db"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
