"""The payments review queue on a 360-px phone without JavaScript: the
Overview panel leads there, one tap confirms a match, and nothing is wider
than the screen."""

from __future__ import annotations

from typing import Any

import pytest

from copcca.crm.payments import record_payment
from copcca.crm.records import PaymentRecord
from copcca.db.base import utcnow
from copcca.models.tenancy import Company
from copcca.reconcile.service import reconcile
from copcca.runtime import Runtime
from tests.helpers import PASSWORD, make_company
from tests.payments.helpers import add_invoice, invoice

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_match_a_payment_from_the_overview_on_a_phone(
    runtime: Runtime, live_server: str, browser: Any
) -> None:
    tenant = make_company(runtime)
    first = add_invoice(runtime, tenant, 250_000, number="INV-0001")
    add_invoice(runtime, tenant, 250_000, number="INV-0002")
    with runtime.db.transaction(tenant.company_id) as session:
        company = session.get(Company, tenant.company_id)
        assert company is not None
        payment = record_payment(
            session,
            company,
            PaymentRecord(
                "mpesa",
                "SPHONE0001",
                250_000,
                "KES",
                utcnow(),
                payer_phone="0712345678",
            ),
        ).payment
        reconcile(session, company, payment)

    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#email", tenant.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/app/integrations/")
    _fits(page)
    page.click("[data-testid=payments-attention] >> text=Match")
    page.wait_for_url(f"{live_server}/app/integrations/payments#to-match")
    _fits(page)
    item = page.locator("[data-testid=review-item]")
    assert item.count() == 1
    candidates = item.locator(".pay-candidate")
    assert candidates.count() == 2
    chosen = candidates.first.locator("b").first.inner_text()
    candidates.first.locator("button").click()
    page.wait_for_url(f"{live_server}/app/integrations/payments")
    assert "Matched. The invoice balance went down." in page.content()
    _fits(page)
    page.goto(f"{live_server}/app/integrations/payments/invoices")
    _fits(page)
    paid = invoice(runtime, tenant, first)
    assert chosen in ("INV-0001", "INV-0002")
    assert (paid.paid_minor == 250_000) == (chosen == "INV-0001")
    context.close()
