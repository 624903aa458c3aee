"""Serve an emulator (or any ASGI app) over real HTTP on a loopback port:
in a background thread for tests, the benchmarks and the built-in demo, or
in the foreground for ``copcca sandbox <provider>``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the thread's owner handles signals
        return None


@contextmanager
def serving(
    app: Any,
    port: int | None = None,
    *,
    host: str = "127.0.0.1",
    timeout: float = START_TIMEOUT,
) -> Iterator[str]:
    """Run ``app`` until the block ends; yields its base URL."""
    port = port or free_port(host)
    server = _ThreadServer(_config(app, host, port))
    thread = threading.Thread(target=server.run, name=f"sandbox:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def serve_forever(app: Any, port: int, host: str = "127.0.0.1") -> None:
    """Run ``app`` in the foreground until interrupted."""
    uvicorn.Server(_config(app, host, port)).run()
