"""The demo company's payments: a sandbox M-Pesa till (the Daraja emulator
the hub serves under ``/sandbox/mpesa``) with open invoices, and a job that
keeps customers paying them from their phones, so a new user sees payments
arrive, get confirmed with "Safaricom" and match their invoices, with the
odd mistyped account number waiting in Needs your attention.

Everything goes through the real path: the connector calls the emulator
over HTTP, the emulator calls the hub's callback addresses, the inbox
stores them, status checks confirm them.
"""

from __future__ import annotations

import logging
import random
import uuid

from huey import crontab
from sqlalchemy import select

from copcca.crm.invoices import InvoiceRepository, NewInvoice, create_invoice
from copcca.integrations import service as integrations
from copcca.integrations.repository import IntegrationRepository
from copcca.jobs.queue import huey
from copcca.models.tenancy import Company, Membership, Role, User
from copcca.runtime import Runtime
from copcca.sandbox.mount import DEMO_PATH, demo_enabled
from copcca.sandbox.mpesa import SANDBOX_PASSKEY, SANDBOX_SHORTCODE
from copcca.security.principal import Principal

log = logging.getLogger("copcca.demo")
DEMO_NAME = "M-Pesa till (sandbox)"
CUSTOMERS = (
    ("Wanjiku Kamau", "0712345678", 150_000),
    ("Otieno Ochieng", "0722111222", 320_000),
    ("Fatuma Hassan", "0733444555", 85_000),
    ("Kiprop Cheruiyot", "0711222333", 1_200_000),
    ("Achieng Odhiambo", "0701555666", 475_000),
)
MAX_INVOICES = 40


def _owner(runtime: Runtime, email: str) -> Principal | None:
    with runtime.db.transaction(write=False) as session:
        user = session.scalar(select(User).where(User.email == email))
    if user is None:
        return None
    # Row-level security shows a person their own memberships only.
    with runtime.db.transaction(user_id=user.id, write=False) as session:
        memberships = session.scalars(
            select(Membership).where(Membership.user_id == user.id)
        ).all()
    for membership in memberships:
        return Principal(
            company_id=membership.company_id,
            user_id=user.id,
            role=Role(membership.role),
            label=email,
            kind="user",
        )
    return None


def ensure_payments_demo(runtime: Runtime, email: str) -> None:
    """Give the demo company its sandbox till and a few open invoices (once)."""
    owner = _owner(runtime, email)
    if owner is None:
        return
    base = runtime.settings.base_url.rstrip("/")
    with runtime.db.transaction(owner.company_id, user_id=owner.user_id) as session:
        repo = IntegrationRepository(session, owner.company_id)
        if repo.by_name(DEMO_NAME) is None:
            integrations.connect(
                session,
                owner,
                runtime.vault,
                integrations.NewIntegration(
                    provider="mpesa",
                    name=DEMO_NAME,
                    frequency="realtime",
                    credentials={
                        "environment": "sandbox",
                        "shortcode": SANDBOX_SHORTCODE,
                        "consumer_key": "sandbox-key",
                        "consumer_secret": "sandbox-secret",
                        "passkey": SANDBOX_PASSKEY,
                        "initiator_name": "testapi",
                        "security_credential": "sandbox-credential",
                        "api_base_url": f"{base}{DEMO_PATH}",
                    },
                ),
            )
        company = session.get(Company, owner.company_id)
        assert company is not None
        if InvoiceRepository(session, owner.company_id).count() == 0:
            for name, phone, amount in CUSTOMERS:
                create_invoice(
                    session,
                    owner,
                    company,
                    NewInvoice(
                        customer_name=name, customer_phone=phone, amount_minor=amount
                    ),
                )


def demo_payment(runtime: Runtime, email: str, rng: random.Random | None = None) -> str:
    """One customer pays one open invoice on the sandbox till. Returns what
    happened, in words (for the log)."""
    from copcca.payments.mpesa import register_c2b_urls, simulate_c2b

    rng = rng or random.Random()
    owner = _owner(runtime, email)
    if owner is None:
        return "no demo company"
    with runtime.db.transaction(owner.company_id, write=False) as session:
        till = IntegrationRepository(session, owner.company_id).by_name(DEMO_NAME)
        invoices = list(
            InvoiceRepository(session, owner.company_id).open_invoices(limit=200)
        )
        total = InvoiceRepository(session, owner.company_id).count()
        phones = _phones(session, owner.company_id, {i.customer_id for i in invoices})
    if till is None:
        return "no sandbox till"
    if not invoices:
        _new_invoice(runtime, owner, rng, total)
        return "raised a new invoice"
    _registered(runtime, owner, till.id, register_c2b_urls)
    invoice = rng.choice(invoices)
    owed = invoice.total_minor - invoice.paid_minor
    account, amount = invoice.payment_reference or invoice.number, owed
    roll = rng.random()
    if roll < 0.2:
        account = invoice.number.replace("INV-", "inv ").lower() + "x"  # mistyped
    elif roll < 0.35 and owed > 20_000:
        amount = (owed // 2) // 100 * 100  # pays half now
    amount = max(100, amount // 100 * 100)
    phone = phones.get(invoice.customer_id, "0708374149")
    simulate_c2b(runtime, owner, till.id, amount, phone, account)
    return f"{invoice.number}: {amount} paid to account {account}"


def _phones(
    session: object, company_id: uuid.UUID, ids: set[object]
) -> dict[object, str]:
    from sqlalchemy.orm import Session

    from copcca.models.crm import Customer

    assert isinstance(session, Session)
    rows = session.scalars(select(Customer).where(Customer.company_id == company_id))
    return {c.id: c.phone for c in rows if c.id in ids and c.phone}


def _registered(
    runtime: Runtime, owner: Principal, till_id: uuid.UUID, register: object
) -> None:
    from copcca.sandbox.mount import demo_emulator

    emulator = demo_emulator()
    if emulator is not None and emulator.registered:
        return
    register(runtime, owner, till_id)  # type: ignore[operator]


def _new_invoice(
    runtime: Runtime, owner: Principal, rng: random.Random, total: int
) -> None:
    if total >= MAX_INVOICES:
        return
    name, phone, amount = rng.choice(CUSTOMERS)
    with runtime.db.transaction(owner.company_id, user_id=owner.user_id) as session:
        company = session.get(Company, owner.company_id)
        assert company is not None
        create_invoice(
            session,
            owner,
            company,
            NewInvoice(customer_name=name, customer_phone=phone, amount_minor=amount),
        )


@huey.periodic_task(crontab(minute="*/2"), name="copcca.payments.demo")  # type: ignore[untyped-decorator]
def demo_payment_job() -> None:
    from copcca.demo import DEMO_EMAIL
    from copcca.runtime import get_runtime

    runtime = get_runtime()
    if not demo_enabled(runtime.settings):
        return
    try:
        log.info("demo payment: %s", demo_payment(runtime, DEMO_EMAIL))
    except Exception:  # the demo must never take the worker down
        log.exception("demo payment failed")
