"""The demo company that ``make run`` creates: a Nairobi shop with an owner
login and a sandbox Shopify store connected (``copcca.sandbox.demo``). The
password is generated once and kept in the data dir so every start can
print it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select

from copcca.models.tenancy import Role, User
from copcca.payments.demo import ensure_payments_demo
from copcca.runtime import Runtime
from copcca.sandbox import demo as sandbox_demo
from copcca.security import accounts
from copcca.security.principal import Principal

DEMO_EMAIL = "owner@duka-la-amina.test"
DEMO_COMPANY = "Duka la Amina"


def login_file(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "demo-login.txt"


def ensure_demo(runtime: Runtime) -> tuple[str, str | None]:
    """Create the demo company once. Returns (email, password or None)."""
    with runtime.db.transaction(write=False) as session:
        exists = session.scalar(select(User.id).where(User.email == DEMO_EMAIL))
    path = login_file(runtime)
    if exists is not None:
        ensure_payments_demo(runtime, DEMO_EMAIL)
        return DEMO_EMAIL, _read_password(path)
    password = secrets.token_urlsafe(9)
    user, company = accounts.sign_up(
        runtime.db,
        accounts.SignUp(
            company_name=DEMO_COMPANY,
            name="Amina Wanjiru",
            email=DEMO_EMAIL,
            password=password,
            country="KE",
            locale="en",
        ),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{DEMO_EMAIL}\n{password}\n")
    owner = Principal(company.id, user.id, Role.OWNER, DEMO_EMAIL, "user")
    sandbox_demo.connect(runtime, owner)
    ensure_payments_demo(runtime, DEMO_EMAIL)
    return DEMO_EMAIL, password


def demo_login(runtime: Runtime) -> tuple[str, str] | None:
    password = _read_password(login_file(runtime))
    return (DEMO_EMAIL, password) if password else None


def _read_password(path: Path) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return lines[1] if len(lines) > 1 else None
