"""Serve an emulator over real HTTP on 127.0.0.1, in a background thread
(tests, the benchmark) or in the foreground (``copcca sandbox ...``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(app: Any, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
    )


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Run ``app`` on a loopback port until the block ends; yields its URL."""
    port = port or free_port()
    server = uvicorn.Server(_config(app, port))
    thread = threading.Thread(target=server.run, name=f"sandbox:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)


def serve_forever(app: Any, port: int) -> None:
    """Run ``app`` in the foreground until interrupted."""
    uvicorn.Server(_config(app, port)).run()
