"""The one Huey instance. Its storage is chosen at start from settings:
``SqliteStorage`` in the data dir by default, ``RedisStorage`` when
``COPCCA_REDIS_URL`` is set (design.md §1-2, ADR 0004)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from copcca.config import Settings
from copcca.security.principal import Principal

huey = Huey("copcca", storage_class=MemoryStorage, utc=True)


class WalSqliteStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite queue with ``synchronous=NORMAL`` (Huey offers only FULL
    or OFF). In WAL mode NORMAL cannot corrupt the file and skips an fsync
    per enqueue; a job lost to a power cut is re-sent by the scheduler, since
    the work it stands for is already committed (inbox rows, sync runs)."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


def configure_queue(settings: Settings, *, immediate: bool = False) -> Huey:
    """Point the queue at its backend. Call once per process, before use."""
    huey.immediate = immediate
    if immediate:
        return huey
    if settings.redis_url:
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": settings.redis_url}
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey.storage_class = WalSqliteStorage
        huey.storage_kwargs = {"filename": str(settings.queue_file), "timeout": 30}
    huey.storage = huey.create_storage()
    return huey


def backend_name() -> str:
    if huey.immediate:
        return "immediate"
    return {RedisStorage: "redis", WalSqliteStorage: "sqlite"}.get(
        type(huey.storage), type(huey.storage).__name__
    )


TenantJob = Callable[..., Any]


def tenant_task(**task_options: Any) -> Callable[[TenantJob], Any]:
    """A job that runs for one company in one transaction.

    The decorated function receives ``(session, actor, *args)``; callers
    enqueue it with the company id first: ``job(company_id, *args)``. The
    company comes from the job row, so a job for A can never read B (T7).
    """

    def decorate(fn: TenantJob) -> Any:
        name = f"{fn.__module__}.{fn.__name__}"

        @huey.task(name=name, **task_options)
        def run(company_id: str, *args: Any, **kwargs: Any) -> Any:
            from copcca.runtime import get_runtime

            cid = uuid.UUID(str(company_id))
            with get_runtime().db.transaction(cid) as session:
                return fn(
                    session, Principal.system(cid, "background job"), *args, **kwargs
                )

        return run

    return decorate
