"""Fixtures: a Daraja emulator on loopback and a shop connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from copcca.runtime import Runtime
from copcca.sandbox.mpesa import DarajaEmulator
from copcca.sandbox.server import serve_in_thread
from tests.helpers import Tenant, make_company
from tests.payments.helpers import CAPTURE, connect_mpesa


@dataclass
class Daraja:
    emu: DarajaEmulator
    url: str


@pytest.fixture
def daraja() -> Iterator[Daraja]:
    emu = DarajaEmulator(callback_prefix=CAPTURE, callback_delay=0.01)
    with serve_in_thread(emu.app) as url:
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
