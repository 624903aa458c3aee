"""Page dependencies: the signed-in person, CSRF on every form, one unit of
work per request, and a :class:`Page` that renders in their language."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from copcca.api.deps import SAFE_METHODS, RuntimeDep, request_transaction
from copcca.errors import CsrfFailed, InvalidInput, NotAuthenticated, NotFound
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.security import sessions
from copcca.security.principal import Principal
from copcca.security.signatures import constant_time_equal
from copcca.web import i18n
from copcca.web.templating import FLASH_COOKIE, render

ANON_CSRF_COOKIE = "copcca_csrf"
LANG_COOKIE = "copcca_lang"


def _reject_nul(form: Any) -> None:
    for _key, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput("A field contains a NUL character.", fix="Remove it.")


class LoginRequired(NotAuthenticated):
    """Sends a browser to the sign-in page, remembering where it was going."""

    def __init__(self, reason: str) -> None:
        super().__init__("Please sign in.")
        self.reason = reason


def page_principal(request: Request, runtime: RuntimeDep) -> Principal:
    found = sessions.lookup(runtime.db, request.cookies.get(sessions.COOKIE_NAME))
    if found.principal is None:
        raise LoginRequired(found.reason)
    return found.principal


async def checked_principal(
    request: Request, principal: Annotated[Principal, Depends(page_principal)]
) -> Principal:
    """Every state-changing form must echo the session's CSRF token."""
    if request.method not in SAFE_METHODS:
        form = await request.form()
        _reject_nul(form)
        given = str(form.get("csrf_token") or "")
        if not principal.csrf_token or not constant_time_equal(
            principal.csrf_token, given
        ):
            raise CsrfFailed(
                "This form has expired or did not come from this site.",
                fix="Go back, reload the page and try again.",
            )
    return principal


PagePrincipal = Annotated[Principal, Depends(checked_principal)]


def page_session(
    request: Request, runtime: RuntimeDep, principal: PagePrincipal
) -> Iterator[Session]:
    yield from request_transaction(request, runtime, principal)


PageSession = Annotated[Session, Depends(page_session, scope="function")]


def page_read_session(
    runtime: RuntimeDep, principal: PagePrincipal
) -> Iterator[Session]:
    with runtime.db.transaction(
        principal.company_id, user_id=principal.user_id, write=False
    ) as session:
        yield session


ReadPageSession = Annotated[Session, Depends(page_read_session, scope="function")]


@dataclass
class Page:
    request: Request
    principal: Principal
    session: Session
    company: Company
    runtime: Runtime

    @property
    def locale(self) -> str:
        return i18n.pick_locale(self.principal.locale)

    def render(
        self,
        template: str,
        *,
        section: str | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        ctx = {
            "me": self.principal,
            "company": self.company,
            "csrf_token": self.principal.csrf_token,
            "section": section,
            **context,
        }
        return render(
            self.request, template, ctx, locale=self.locale, status_code=status_code
        )

    def redirect(self, url: str, flash: str | None = None) -> RedirectResponse:
        return redirect(url, flash, locale=self.locale)

    def t(self, message: str) -> str:
        with i18n.use_locale(self.locale):
            return i18n.gettext(message)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A separate, short writing unit of work, committed on exit. Pages
        that call a provider read with ``ReadPageDep`` and write here, so no
        provider call runs while the database is locked for writing."""
        with self.runtime.db.transaction(
            self.principal.company_id, user_id=self.principal.user_id
        ) as session:
            yield session


def redirect(
    url: str, flash: str | None = None, *, locale: str = "en"
) -> RedirectResponse:
    """303 to ``url``, with a one-time message shown on the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        with i18n.use_locale(locale):
            text = i18n.gettext(flash)
        response.set_cookie(
            FLASH_COOKIE,
            quote(text),
            max_age=60,
            httponly=True,
            samesite="lax",
            path="/",
        )
    return response


def get_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PagePrincipal,
    session: PageSession,
) -> Page:
    company = session.get(Company, principal.company_id)
    if company is None:
        raise NotFound("This business no longer exists.")
    return Page(request, principal, session, company, runtime)


PageDep = Annotated[Page, Depends(get_page)]


def get_read_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PagePrincipal,
    session: ReadPageSession,
) -> Page:
    company = session.get(Company, principal.company_id)
    if company is None:
        raise NotFound("This business no longer exists.")
    return Page(request, principal, session, company, runtime)


# Like PageDep, but its session never takes the write lock; write through
# ``page.write()``.
ReadPageDep = Annotated[Page, Depends(get_read_page)]


def anon_csrf_token(request: Request) -> str:
    """The double-submit token for forms shown before sign-in."""
    return request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_anon_csrf(response: HTMLResponse, token: str, secure: bool) -> None:
    response.set_cookie(
        ANON_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


async def check_anon_csrf(request: Request) -> None:
    form = await request.form()
    _reject_nul(form)
    cookie = request.cookies.get(ANON_CSRF_COOKIE)
    given = str(form.get("csrf_token") or "")
    if not cookie or not constant_time_equal(cookie, given):
        raise CsrfFailed(
            "This form has expired, or your browser blocked our cookie.",
            fix="Allow cookies for this site, reload the page and try again.",
        )


def request_locale(request: Request) -> str:
    return i18n.pick_locale(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )
