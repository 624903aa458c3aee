"""Business settings: people, invitations, language and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from copcca.errors import CopccaError
from copcca.security import accounts
from copcca.security.audit import AuditRepository
from copcca.web.deps import PageDep

router = APIRouter(prefix="/app/settings")


def _team(page: PageDep, **extra: Any) -> HTMLResponse:
    members = accounts.MemberRepository(page.session, page.principal.company_id)
    invitations = accounts.InvitationRepository(page.session, page.principal.company_id)
    return page.render(
        "settings/team.html",
        section="settings",
        members=members.with_users(),
        invitations=invitations.pending() if page.principal.is_admin else [],
        base_url=str(page.runtime.settings.base_url).rstrip("/"),
        **extra,
    )


@router.get("")
def team(page: PageDep) -> HTMLResponse:
    return _team(page)


@router.post("/invite")
def invite(
    page: PageDep,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "member",
) -> Response:
    try:
        with page.session.begin_nested():
            code = accounts.invite(page.session, page.principal, email, role)
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        return _team(page, error=exc, status_code=exc.status_code)
    link = f"{str(page.runtime.settings.base_url).rstrip('/')}/invite/{code}"
    return _team(page, invite_link=link, invite_email=email)


@router.post("/members/{membership_id}/role")
def change_role(
    page: PageDep, membership_id: uuid.UUID, role: Annotated[str, Form(max_length=16)]
) -> Response:
    try:
        with page.session.begin_nested():
            accounts.change_role(page.session, page.principal, membership_id, role)
    except CopccaError as exc:
        if exc.status_code not in (409, 422):
            raise
        return page.redirect("/app/settings", exc.message)
    return page.redirect("/app/settings", "Role changed.")


@router.post("/members/{membership_id}/remove")
def remove_member(page: PageDep, membership_id: uuid.UUID) -> Response:
    try:
        with page.session.begin_nested():
            accounts.remove_member(page.session, page.principal, membership_id)
    except CopccaError as exc:
        if exc.status_code != 422:
            raise
        return page.redirect("/app/settings", exc.message)
    return page.redirect("/app/settings", "Removed from the business.")


@router.get("/audit")
def audit_log(page: PageDep, p: int = 1, action: str = "") -> HTMLResponse:
    page.principal.require_admin("see the audit log")
    p = max(1, min(p, 10_000))
    rows = AuditRepository(page.session, page.principal.company_id).recent(
        limit=51, offset=(p - 1) * 50, action=action or None
    )
    return page.render(
        "settings/audit.html",
        section="settings",
        rows=rows[:50],
        has_next=len(rows) > 50,
        p=p,
        action=action,
    )
