"""The demo company's sandbox till: the hub serves the Daraja emulator under
/sandbox/mpesa, the connector talks to it over HTTP, and demo payments go
the whole real way to invoices. Plus ``copcca sandbox`` standalone."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from copcca.demo import DEMO_EMAIL, ensure_demo
from copcca.main import create_app
from copcca.models.crm import Invoice, Payment
from copcca.runtime import Runtime
from copcca.sandbox.server import free_port, serving
from tests.payments.helpers import wait_for


@pytest.fixture
def demo_hub(runtime: Runtime) -> Iterator[str]:
    port = free_port()
    runtime.settings.base_url = f"http://127.0.0.1:{port}"
    runtime.settings.demo = True
    app = create_app(runtime.settings, runtime=runtime)
    with serving(app, port=port) as url:
        yield url


def _demo_rows(runtime: Runtime, model: type) -> list:  # type: ignore[type-arg]
    from copcca.payments.demo import _owner

    owner = _owner(runtime, DEMO_EMAIL)
    if owner is None:
        return []
    company_id = owner.company_id
    with runtime.db.transaction(company_id, write=False) as session:
        return list(
            session.scalars(select(model).where(model.company_id == company_id))
        )  # type: ignore[attr-defined]


def test_demo_company_gets_a_till_and_invoices_that_get_paid(
    runtime: Runtime, demo_hub: str
) -> None:
    from copcca.payments.demo import demo_payment

    ensure_demo(runtime)
    ensure_demo(runtime)  # twice changes nothing
    assert httpx.get(f"{demo_hub}/sandbox/mpesa/_sandbox/control").status_code == 200
    assert len(_demo_rows(runtime, Invoice)) == 5

    for seed in range(3):
        said = demo_payment(runtime, DEMO_EMAIL, random.Random(seed))
        assert "paid to account" in said

    wait_for(lambda: len(_demo_rows(runtime, Payment)) == 3, timeout=30)
    statuses = {p.status for p in _demo_rows(runtime, Payment)}
    assert statuses <= {"matched", "needs_review"}
    assert "matched" in statuses


def test_copcca_sandbox_runs_an_emulator_standalone() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "copcca.cli", "sandbox", "airtel", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/_sandbox/control", timeout=1
                )
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert answer.json()["behaviour"] == "pay"
        token = httpx.post(
            f"http://127.0.0.1:{port}/auth/oauth2/token",
            json={
                "client_id": "airtel-client",
                "client_secret": "airtel-secret",
                "grant_type": "client_credentials",
            },
        ).json()
        assert token["expires_in"] == "180"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unknown_emulator_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "copcca.cli", "sandbox", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "no emulator called 'nope'" in done.stderr
