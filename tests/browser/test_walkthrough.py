"""A new user in a real browser: sign up, sign in, visit every section,
switch to Swahili, and use the hub on a 360-px phone."""

from __future__ import annotations

from typing import Any

import pytest

SECTIONS = [
    ("Overview", "/app/integrations/"),
    ("Connect Systems", "/app/integrations/connect"),
    ("Import Center", "/app/integrations/import"),
    ("Mapping & Rules", "/app/integrations/rules"),
    ("Sync Logs", "/app/integrations/logs"),
    ("Insights Center", "/app/integrations/insights"),
    ("API & Webhooks", "/app/integrations/developers"),
]

pytestmark = pytest.mark.browser


def _sign_up(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/signup")
    page.fill("#company_name", "Duka la Baraka")
    page.select_option("#country", "KE")
    page.fill("#name", "Baraka Otieno")
    page.fill("#email", email)
    page.fill("#password", "a long enough password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/integrations/?welcome=1")


def test_sign_up_sign_in_and_visit_every_section(
    live_server: str, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: errors.append(f"failed: {req.url}"))
    _sign_up(page, live_server, "baraka@duka.co.ke")
    assert "Welcome, your account is ready" in page.content()

    page.click("summary[aria-label='Account menu']")
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.fill("#email", "baraka@duka.co.ke")
    page.fill("#password", "a long enough password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/app/integrations/")

    for label, path in SECTIONS:
        page.click(f"nav.sections >> text={label}")
        page.wait_for_url(f"{live_server}{path}")
        assert page.locator("h1").first.inner_text().strip() == label
        current = page.locator("nav.sections a[aria-current=page]").inner_text()
        assert label in current

    page.goto(f"{live_server}/app/integrations/connect")
    page.fill("#q", "pesa")
    visible = page.locator(".provider-card:visible h2").all_inner_texts()
    assert visible == ["M-Pesa", "Tigo Pesa (Mixx by Yas)"]
    assert errors == []


def test_language_switch_to_swahili_persists(live_server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    _sign_up(page, live_server, "neema@duka.co.tz")
    page.select_option("#locale", "sw")  # submits itself (JavaScript) ...
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "sw"
    nav = page.locator("nav.sections").inner_text()
    assert "Muhtasari" in nav
    page.goto(f"{live_server}/app/integrations/logs")
    assert page.locator("html").get_attribute("lang") == "sw"


def test_phone_layout_at_360_px(live_server: str, browser: Any) -> None:
    page = browser.new_page(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    _sign_up(page, live_server, "amina@duka.co.ke")
    for _label, path in SECTIONS:
        page.goto(f"{live_server}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    nav = page.locator("nav.sections")
    box = nav.bounding_box()
    assert box is not None
    assert box["width"] <= 360
    page.locator("nav.sections >> text=Sync Logs").scroll_into_view_if_needed()
    page.click("nav.sections >> text=Sync Logs")
    page.wait_for_url(f"{live_server}/app/integrations/logs")
    button = page.locator("form.filters button[type=submit]").bounding_box()
    assert button is not None
    assert button["height"] >= 40


def test_core_flows_work_without_javascript(live_server: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _sign_up(page, live_server, "nojs@duka.co.ke")
    page.goto(f"{live_server}/app/integrations/connect?q=shopify")
    assert page.locator(".provider-card h2").all_inner_texts() == ["Shopify"]
    page.click(".provider-card a.btn")
    page.fill("#cfg_shop_domain", "duka.myshopify.com")
    page.fill("#cfg_access_token", "shpat_x")
    page.click("text=Save connection")
    assert "Saved. Your credentials are stored encrypted." in page.content()
    page.click(
        "button:has-text('Change')"
    )  # the language form's button, shown without JS
    context.close()
