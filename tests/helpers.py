"""Test helpers: companies, signed-in clients and API clients."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select

from copcca.models.tenancy import Membership, Role, User
from copcca.runtime import Runtime
from copcca.security import accounts, api_keys
from copcca.security.principal import Principal

PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    company_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    principal: Principal


def make_company(runtime: Runtime, name: str = "Duka", country: str = "KE") -> Tenant:
    email = f"owner-{uuid.uuid4().hex[:8]}@example.co.ke"
    user, company = accounts.sign_up(
        runtime.db,
        accounts.SignUp(
            company_name=name,
            name="Owner",
            email=email,
            password=PASSWORD,
            country=country,
        ),
    )
    principal = Principal(
        company_id=company.id,
        user_id=user.id,
        role=Role.OWNER,
        label=email,
        kind="user",
    )
    return Tenant(company.id, user.id, email, principal)


def add_member(runtime: Runtime, tenant: Tenant, role: Role) -> Tenant:
    """Invite and accept a person with ``role`` into the tenant's company."""
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.co.ke"
    with runtime.db.transaction(tenant.company_id) as session:
        code = accounts.invite(session, tenant.principal, email, role.value)
    user = accounts.accept_invite(
        runtime.db, code, name=role.value.title(), password=PASSWORD
    )
    principal = Principal(
        company_id=tenant.company_id,
        user_id=user.id,
        role=role,
        label=email,
        kind="user",
    )
    return Tenant(tenant.company_id, user.id, email, principal)


def api_key_for(runtime: Runtime, tenant: Tenant, role: Role = Role.ADMIN) -> str:
    with runtime.db.transaction(tenant.company_id) as session:
        _row, token = api_keys.issue(
            api_keys.ApiKeyRepository(session, tenant.company_id),
            name=f"test {uuid.uuid4().hex[:6]}",
            role=role,
            created_by=tenant.user_id,
        )
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no csrf token"
    return match.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = csrf_from(page.text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def page_csrf(client: TestClient, path: str = "/app/integrations/") -> str:
    return csrf_from(client.get(path).text)


def role_of(runtime: Runtime, tenant: Tenant) -> str:
    with runtime.db.transaction(tenant.company_id) as session:
        return str(
            session.scalar(
                select(Membership.role).where(
                    Membership.user_id == tenant.user_id,
                    Membership.company_id == tenant.company_id,
                )
            )
        )


def user_exists(runtime: Runtime, email: str) -> bool:
    with runtime.db.transaction() as session:
        return session.scalar(select(User.id).where(User.email == email)) is not None
