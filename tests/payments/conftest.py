"""Fixtures: a Daraja emulator on loopback and a shop connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from copcca.main import create_app
from copcca.runtime import Runtime
from copcca.sandbox.flutterwave import FlutterwaveEmulator
from copcca.sandbox.mpesa import DarajaEmulator
from copcca.sandbox.paypal import PayPalEmulator
from copcca.sandbox.server import free_port, serving
from tests.helpers import Tenant, make_company
from tests.payments.helpers import CAPTURE, connect_mpesa


@dataclass
class Daraja:
    emu: DarajaEmulator
    url: str


@pytest.fixture
def daraja() -> Iterator[Daraja]:
    emu = DarajaEmulator(callback_prefix=CAPTURE, callback_delay=0.01)
    with serving(emu.app) as url:
        yield Daraja(emu, url)


@dataclass
class Shop:
    tenant: Tenant
    integration_id: object


@pytest.fixture
def shop(runtime: Runtime, daraja: Daraja) -> Shop:
    tenant = make_company(runtime, "Duka la Amina")
    integration_id = connect_mpesa(runtime, tenant, daraja.url)
    return Shop(tenant, integration_id)


@pytest.fixture
def hub(runtime: Runtime) -> Iterator[str]:
    """The hub itself on a loopback port, so emulators call it over HTTP."""
    port = free_port()
    runtime.settings.base_url = f"http://127.0.0.1:{port}"
    app = create_app(runtime.settings, runtime=runtime)
    with serving(app, port=port) as url:
        yield url


@pytest.fixture
def flutterwave(hub: str) -> Iterator[tuple[FlutterwaveEmulator, str]]:
    """The Flutterwave emulator, calling back into ``hub``."""
    emu = FlutterwaveEmulator(callback_delay=0.05)
    with serving(emu.app) as url:
        yield emu, url


@pytest.fixture
def paypal(hub: str) -> Iterator[tuple[PayPalEmulator, str]]:
    """The PayPal emulator (webhooks verified through the API), calling back
    into ``hub``."""
    emu = PayPalEmulator(callback_delay=0.05)
    with serving(emu.app) as url:
        yield emu, url
