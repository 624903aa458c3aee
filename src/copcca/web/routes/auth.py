"""Sign up, sign in, sign out, accept an invitation, choose a language."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from copcca.api.deps import RuntimeDep
from copcca.crm.countries import MARKETS
from copcca.errors import CopccaError
from copcca.models.tenancy import Company, User
from copcca.security import accounts, sessions
from copcca.security.accounts import SignUp
from copcca.web.deps import (
    LANG_COOKIE,
    PageDep,
    anon_csrf_token,
    check_anon_csrf,
    redirect,
    request_locale,
    set_anon_csrf,
)
from copcca.web.templating import render

router = APIRouter()
HOME = "/app/integrations/"


def _safe_next(value: str | None) -> str:
    """Only local paths, so a crafted link cannot bounce a user elsewhere."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return HOME


def _anon_page(
    request: Request,
    runtime: RuntimeDep,
    template: str,
    status_code: int = 200,
    **context: object,
) -> HTMLResponse:
    token = anon_csrf_token(request)
    response = render(
        request,
        template,
        {"csrf_token": token, "markets": MARKETS, **context},
        locale=request_locale(request),
        status_code=status_code,
    )
    set_anon_csrf(response, token, runtime.settings.secure_cookies)
    return response


def _sign_in(
    request: Request,
    runtime: RuntimeDep,
    user: User,
    company_id: uuid.UUID,
    target: str,
) -> RedirectResponse:
    cookie = accounts.start_session(
        runtime.db,
        user,
        company_id,
        days=runtime.settings.session_days,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME,
        cookie,
        max_age=runtime.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/",
    )
    return response


@router.get("/")
def home(request: Request) -> RedirectResponse:
    if request.cookies.get(sessions.COOKIE_NAME):
        return RedirectResponse(HOME, status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
def login_form(
    request: Request, runtime: RuntimeDep, next: str | None = None, expired: int = 0
) -> HTMLResponse:
    return _anon_page(
        request,
        runtime,
        "auth/login.html",
        next=_safe_next(next),
        expired=bool(expired),
    )


@router.post("/login", dependencies=[Depends(check_anon_csrf)])
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    try:
        user, company_id = accounts.authenticate(runtime.db, email, password)
    except CopccaError as exc:
        return _anon_page(
            request,
            runtime,
            "auth/login.html",
            status_code=exc.status_code,
            error=exc,
            email=email,
            next=_safe_next(next),
        )
    return _sign_in(request, runtime, user, company_id, _safe_next(next))


@router.get("/signup")
def signup_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return _anon_page(request, runtime, "auth/signup.html", form={"country": "KE"})


@router.post("/signup", dependencies=[Depends(check_anon_csrf)])
def signup(
    request: Request,
    runtime: RuntimeDep,
    company_name: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    country: Annotated[str, Form(max_length=2)] = "KE",
) -> Response:
    form = SignUp(
        company_name=company_name,
        name=name,
        email=email,
        password=password,
        country=country,
        locale=request_locale(request),
    )
    try:
        user, company = accounts.sign_up(runtime.db, form)
    except CopccaError as exc:
        shown = {
            "company_name": company_name,
            "name": name,
            "email": email,
            "country": country,
        }
        return _anon_page(
            request,
            runtime,
            "auth/signup.html",
            status_code=exc.status_code,
            error=exc,
            form=shown,
        )
    return _sign_in(request, runtime, user, company.id, HOME + "?welcome=1")


@router.post("/logout")
def logout(page: PageDep) -> RedirectResponse:
    sessions.end_session(page.session, page.principal)
    response = redirect("/login", "You are signed out.", locale=page.locale)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


@router.get("/invite/{code}")
def invite_form(code: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    company_id, token = accounts.parse_invite(code)
    with runtime.db.transaction(company_id, write=False) as session:
        invitation = accounts.find_invitation(session, company_id, token)
        company = session.get(Company, company_id)
    return _anon_page(
        request,
        runtime,
        "auth/invite.html",
        code=code,
        invitation=invitation,
        company=company,
    )


@router.post("/invite/{code}", dependencies=[Depends(check_anon_csrf)])
def invite_accept(
    code: str,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    company_id, _token = accounts.parse_invite(code)
    try:
        user = accounts.accept_invite(runtime.db, code, name=name, password=password)
    except CopccaError as exc:
        if exc.status_code == 404:
            raise
        company_id, token = accounts.parse_invite(code)
        with runtime.db.transaction(company_id, write=False) as session:
            invitation = accounts.find_invitation(session, company_id, token)
        return _anon_page(
            request,
            runtime,
            "auth/invite.html",
            code=code,
            invitation=invitation,
            error=exc,
            name=name,
            status_code=exc.status_code,
        )
    return _sign_in(request, runtime, user, company_id, HOME)


@router.get("/language/{locale}")
def anon_language(
    locale: str, request: Request, runtime: RuntimeDep
) -> RedirectResponse:
    """Language switch before sign-in (a link, so it works without JavaScript)."""
    target = _safe_next(request.query_params.get("next") or "/login")
    response = RedirectResponse(target, status_code=303)
    if locale in ("en", "sw", "fr"):
        response.set_cookie(
            LANG_COOKIE,
            locale,
            max_age=365 * 86400,
            samesite="lax",
            path="/",
            secure=runtime.settings.secure_cookies,
        )
    return response


@router.post("/app/language")
def language(
    page: PageDep,
    locale: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> RedirectResponse:
    accounts.set_locale(page.session, page.principal, locale)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=365 * 86400,
        samesite="lax",
        path="/",
        secure=page.runtime.settings.secure_cookies,
    )
    return response
