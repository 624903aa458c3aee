"""The demo company's sandbox M-Pesa, served by the hub itself under
``/sandbox/mpesa`` while the connector still talks to it over real HTTP.

Mounted only when this data directory holds the demo (``copcca demo``) or
``COPCCA_DEMO`` is set, and it only ever calls back the hub's own address,
so it cannot be used to send requests elsewhere."""

from __future__ import annotations

from fastapi import FastAPI

from copcca.config import Settings
from copcca.sandbox.mpesa import DarajaEmulator

DEMO_PATH = "/sandbox/mpesa"
_demo_emulator: DarajaEmulator | None = None


def demo_enabled(settings: Settings) -> bool:
    return settings.demo or (settings.data_dir / "demo-login.txt").exists()


def mount_demo_sandboxes(app: FastAPI, settings: Settings) -> None:
    global _demo_emulator
    if not demo_enabled(settings):
        return
    _demo_emulator = DarajaEmulator(
        callback_prefix=settings.base_url.rstrip("/") + "/",
        callback_delay=1.0,
    )
    app.mount(DEMO_PATH, _demo_emulator.app)


def demo_emulator() -> DarajaEmulator | None:
    return _demo_emulator
