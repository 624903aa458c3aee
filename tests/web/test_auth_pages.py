"""Accounts through the pages: sign up, sign in, sign out, expired sessions,
CSRF on every form, invitations and roles (T8)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from copcca.db.base import utcnow
from copcca.models.audit import AuditEntry
from copcca.models.integrations import Integration
from copcca.models.tenancy import AuthSession, Company, Role, User
from copcca.runtime import Runtime
from tests.helpers import (
    PASSWORD,
    add_member,
    csrf_from,
    login,
    make_company,
    page_csrf,
)


def _count(runtime: Runtime, model: type, company_id: object = None) -> int:
    with runtime.db.transaction(company_id) as session:  # type: ignore[arg-type]
        stmt = select(func.count()).select_from(model)
        if company_id is not None:
            stmt = stmt.where(model.company_id == company_id)  # type: ignore[attr-defined]
        return int(session.scalar(stmt) or 0)


def test_sign_up_opens_the_overview_with_a_welcome(
    client: TestClient, runtime: Runtime
) -> None:
    token = csrf_from(client.get("/signup").text)
    response = client.post(
        "/signup",
        data={
            "company_name": "Mama Mboga Stores",
            "name": "Neema",
            "email": "neema@duka.co.tz",
            "password": PASSWORD,
            "country": "TZ",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert str(response.url).endswith("/app/integrations/?welcome=1")
    assert "Mama Mboga Stores" in response.text
    assert "Welcome, your account is ready" in response.text
    with runtime.db.transaction() as session:
        company = session.scalars(select(Company)).one()
    assert (company.currency, company.timezone) == ("TZS", "Africa/Dar_es_Salaam")
    cookie = next(c for c in client.cookies.jar if c.name == "copcca_session")
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_sign_up_with_a_taken_email_says_so_and_writes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    token = csrf_from(client.get("/signup").text)
    response = client.post(
        "/signup",
        data={
            "company_name": "Second",
            "name": "X",
            "email": tenant.email,
            "password": PASSWORD,
            "country": "KE",
            "csrf_token": token,
        },
    )
    assert response.status_code == 409
    assert "An account with this email already exists." in response.text
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 1


def test_wrong_password_is_401_with_a_plain_message(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"email": tenant.email, "password": "wrong", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "That email and password do not match an account." in response.text
    assert "copcca_session" not in client.cookies
    assert _count(runtime, AuthSession, tenant.company_id) == 0


def test_login_without_csrf_token_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    client.get("/login")
    response = client.post("/login", data={"email": tenant.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert _count(runtime, AuthSession, tenant.company_id) == 0


def test_sign_in_is_audited_and_sign_out_ends_the_session(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    with runtime.db.transaction(tenant.company_id) as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.company_id == tenant.company_id)
        ).all()
    assert "auth.sign_in" in actions
    response = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert "You are signed out." in response.text
    assert _count(runtime, AuthSession, tenant.company_id) == 0
    assert client.get("/app/integrations/", follow_redirects=False).status_code == 303


def test_expired_session_sends_to_sign_in_with_a_message(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    with runtime.db.transaction(tenant.company_id) as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.company_id == tenant.company_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    response = client.get("/app/integrations/logs")
    assert str(response.url).endswith("/login?next=/app/integrations/logs&expired=1")
    assert "Your session has expired. Please sign in again." in response.text
    api = client.get("/api/v1/integrations")
    assert (api.status_code, api.json()["message"]) == (
        401,
        "Your session has expired.",
    )


def test_app_form_without_csrf_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    response = client.post(
        "/app/integrations/connect/shopify",
        data={"cfg_shop_domain": "x.myshopify.com", "cfg_access_token": "t"},
    )
    assert response.status_code == 403
    assert _count(runtime, Integration, tenant.company_id) == 0


def test_api_write_with_session_needs_the_csrf_header(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    login(client, tenant.email)
    body = {
        "provider": "shopify",
        "credentials": {"shop_domain": "x.myshopify.com", "access_token": "t"},
    }
    refused = client.post("/api/v1/integrations", json=body)
    accepted = client.post(
        "/api/v1/integrations", json=body, headers={"X-CSRF-Token": page_csrf(client)}
    )
    assert (refused.status_code, accepted.status_code) == (403, 201)
    assert refused.json()["code"] == "csrf_failed"


def test_open_redirect_after_login_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    tenant = make_company(runtime)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={
            "email": tenant.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/app/integrations/"


def test_invited_member_joins_and_cannot_connect_payments(
    client: TestClient, runtime: Runtime
) -> None:
    owner = make_company(runtime)
    login(client, owner.email)
    page = client.post(
        "/app/settings/invite",
        data={
            "email": "juma@duka.co.ke",
            "role": "member",
            "csrf_token": page_csrf(client, "/app/settings"),
        },
    )
    assert "Invitation for juma@duka.co.ke created" in page.text
    link = page.text.split('value="http://testserver/invite/')[1].split('"')[0]
    client.post("/logout", data={"csrf_token": page_csrf(client)})

    form = client.get(f"/invite/{link}")
    assert "You were invited as member with juma@duka.co.ke." in form.text
    joined = client.post(
        f"/invite/{link}",
        data={"name": "Juma", "password": PASSWORD, "csrf_token": csrf_from(form.text)},
    )
    assert joined.status_code == 200
    assert "/app/integrations/" in str(joined.url)

    mpesa = client.get("/app/integrations/connect/mpesa")
    assert (
        "Only the owner or an admin can connect payment and accounting systems."
        in mpesa.text
    )
    denied = client.post(
        "/app/integrations/connect/mpesa",
        data={
            "csrf_token": page_csrf(client),
            "cfg_shortcode": "174379",
            "cfg_consumer_key": "k",
            "cfg_consumer_secret": "s",
        },
    )
    assert denied.status_code == 403
    assert _count(runtime, Integration, owner.company_id) == 0
    assert client.get("/app/settings/audit").status_code == 403
    again = client.get(f"/invite/{link}")
    assert again.status_code == 404


def test_role_matrix_for_payment_and_accounting_systems(
    client: TestClient, runtime: Runtime
) -> None:
    """T8: owner and admin may connect and see; member, other-tenant admin and
    anonymous may not."""
    owner = make_company(runtime)
    admin = add_member(runtime, owner, Role.ADMIN)
    member = add_member(runtime, owner, Role.MEMBER)
    other = make_company(runtime, "Other")
    xero = {"provider": "xero", "credentials": {"access_token": "a", "tenant_id": "t"}}

    def connect(email: str | None, name: str) -> int:
        client.cookies.clear()
        if email is None:
            return client.post(
                "/api/v1/integrations", json={**xero, "name": name}
            ).status_code
        login(client, email)
        return client.post(
            "/api/v1/integrations",
            json={**xero, "name": name},
            headers={"X-CSRF-Token": page_csrf(client)},
        ).status_code

    results = {
        "owner": connect(owner.email, "Xero 1"),
        "admin": connect(admin.email, "Xero 2"),
        "member": connect(member.email, "Xero 3"),
        "anonymous": connect(None, "Xero 4"),
        "other tenant admin": connect(other.email, "Xero 5"),
    }
    assert results == {
        "owner": 201,
        "admin": 201,
        "member": 403,
        "anonymous": 401,
        "other tenant admin": 201,
    }
    assert _count(runtime, Integration, owner.company_id) == 2
    login(client, member.email)
    assert client.get("/api/v1/integrations").json()["items"] == []


def test_a_person_can_belong_to_two_companies(
    client: TestClient, runtime: Runtime
) -> None:
    first = make_company(runtime, "First")
    second = make_company(runtime, "Second")
    with runtime.db.transaction(second.company_id) as session:
        from copcca.security import accounts

        code = accounts.invite(session, second.principal, first.email, "admin")
    user = accounts.accept_invite(runtime.db, code, name="", password=PASSWORD)
    with runtime.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
    assert user.email == first.email


def test_admin_removes_a_member_who_is_then_signed_out(
    client: TestClient, runtime: Runtime
) -> None:
    owner = make_company(runtime)
    member = add_member(runtime, owner, Role.MEMBER)
    member_client = TestClient(client.app, base_url="http://testserver")
    login(member_client, member.email)
    login(client, owner.email)
    with runtime.db.transaction(owner.company_id) as session:
        from copcca.models.tenancy import Membership

        membership_id = session.scalars(
            select(Membership.id).where(Membership.user_id == member.user_id)
        ).one()

    response = client.post(
        f"/app/settings/members/{membership_id}/remove",
        data={"csrf_token": page_csrf(client, "/app/settings")},
    )

    assert "Removed from the business." in response.text
    assert member.email not in response.text
    assert (
        member_client.get("/app/integrations/", follow_redirects=False).status_code
        == 303
    )
    with runtime.db.transaction(owner.company_id) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "member.remove" in actions
