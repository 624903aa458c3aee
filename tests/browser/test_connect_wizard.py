"""The connect wizard in Chromium on a 360-px phone, with and without
JavaScript: four steps from a key to a finished first sync, whose progress
page updates itself (a poll with JavaScript, a refresh without)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

import pytest

from copcca.runtime import Runtime
from copcca.sync.engine import execute_run
from tests.connectors.store import TestStore
from tests.helpers import PASSWORD, make_company

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def slow_worker(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs start a second after they are requested, like a real worker,
    so the progress page is seen waiting first."""

    def deliver(company_id: uuid.UUID, run_id: uuid.UUID, _eta: datetime) -> None:
        threading.Timer(
            1.0,
            execute_run,
            (runtime.db, runtime.vault, runtime.settings, company_id, run_id),
        ).start()

    monkeypatch.setattr("copcca.sync.tasks.deliver_run", deliver)


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def _walk(page: Any, base: str, email: str, store: TestStore) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/integrations/")

    page.goto(f"{base}/app/integrations/connect/teststore")
    _fits(page)
    page.fill("#cfg_base_url", store.url)
    page.fill("#cfg_api_key", "wrong key")
    page.click("text=Check and continue")
    page.wait_for_selector("text=Test Store refused our credentials (HTTP 401).")
    _fits(page)
    page.fill("#cfg_api_key", store.api_key)
    page.click("text=Check and continue")
    page.wait_for_url("**/setup/data")
    _fits(page)

    page.click("text=Preview 10 records >> nth=0")
    page.wait_for_url("**preview=customers**")
    assert page.locator(".preview-list > li").count() == 10
    _fits(page)
    page.uncheck("input[value=products]")
    page.click("text=Continue")
    page.wait_for_url("**/setup/frequency")
    _fits(page)
    page.select_option("#frequency", "daily")
    page.click("text=Continue")
    page.wait_for_url("**/setup/start")
    _fits(page)
    page.click("text=Start the first sync")
    page.wait_for_url("**/runs/**")
    assert "Waiting to start" in page.content() or "Syncing" in page.content()
    page.wait_for_selector("text=Done", timeout=20_000)
    assert "Customers: 12 new" in page.content()
    _fits(page)


def test_wizard_on_a_phone_with_javascript(
    live_server: str,
    browser: Any,
    runtime: Runtime,
    store: TestStore,
    slow_worker: None,
) -> None:
    tenant = make_company(runtime)
    page = browser.new_page(viewport=PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _walk(page, live_server, tenant.email, store)

    assert errors == []


def test_wizard_on_a_phone_without_javascript(
    live_server: str,
    browser: Any,
    runtime: Runtime,
    store: TestStore,
    slow_worker: None,
) -> None:
    tenant = make_company(runtime)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)

    _walk(context.new_page(), live_server, tenant.email, store)
