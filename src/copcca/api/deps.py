"""Dependencies shared by API routes: who is calling, and the unit of work.

The company always comes from the credential (API key or session cookie),
never from headers, query or body (T5). Cookie-authenticated writes must
carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from copcca.errors import CsrfFailed, InvalidInput, NotAuthenticated
from copcca.runtime import Runtime
from copcca.security import api_keys, sessions
from copcca.security.principal import Principal
from copcca.security.signatures import constant_time_equal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from API & Webhooks: `Authorization: Bearer ck_...`",
)
cookie_scheme = APIKeyCookie(
    name=sessions.COOKIE_NAME,
    auto_error=False,
    scheme_name="Session",
    description="The browser session; writes also need the X-CSRF-Token header.",
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def current_principal(
    request: Request,
    runtime: RuntimeDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    if bearer is not None:
        principal = api_keys.authenticate(runtime.db, bearer.credentials)
        if principal is None:
            raise NotAuthenticated(
                "This API key is not valid or has been revoked.",
                fix="Create a new key in API & Webhooks.",
            )
        return principal
    found = sessions.lookup(runtime.db, cookie)
    if found.principal is None:
        if found.reason == "expired":
            raise NotAuthenticated("Your session has expired.", fix="Sign in again.")
        raise NotAuthenticated(
            "Sign in, or send an API key as 'Authorization: Bearer ck_...'.",
            fix="Create an API key in API & Webhooks.",
        )
    if request.method not in SAFE_METHODS:
        given = request.headers.get("x-csrf-token", "")
        if not found.principal.csrf_token or not constant_time_equal(
            found.principal.csrf_token, given
        ):
            raise CsrfFailed(
                "This request is missing its security token.",
                fix="Reload the page and try again.",
            )
    return found.principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def request_transaction(
    request: Request, runtime: Runtime, principal: Principal
) -> Iterator[Session]:
    """One request, one transaction for the principal's company; writes take
    the write lock only for methods that change state."""
    write = request.method not in SAFE_METHODS
    with runtime.db.transaction(
        principal.company_id, user_id=principal.user_id, write=write
    ) as session:
        yield session


def unit_of_work(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> Iterator[Session]:
    """Committed before the response is sent (``scope="function"`` below)."""
    yield from request_transaction(request, runtime, principal)


SessionDep = Annotated[Session, Depends(unit_of_work, scope="function")]


async def reject_unsafe_input(request: Request) -> None:
    """Refuse input no route accepts, before it reaches a service or the
    database: NUL characters (PostgreSQL cannot store them) anywhere, and a
    query parameter given twice (every parameter here takes one value)."""
    keys = [k for k, _v in request.query_params.multi_items()]
    if len(keys) != len(set(keys)):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise InvalidInput(
            f"The query parameter '{repeated[0]}' is given more than once.",
            fix="Send each query parameter once.",
            field=repeated[0],
        )
    if "\x00" in request.url.query or "%00" in request.url.query:
        raise InvalidInput("The query contains a NUL character.", fix="Remove it.")
    if "\x00" in request.url.path:
        raise InvalidInput("The address contains a NUL character.", fix="Remove it.")
    if request.method not in SAFE_METHODS:
        if request.headers.get("content-type", "").startswith("multipart/"):
            # An upload: FastAPI has already parsed the form (the raw stream
            # is gone); file bytes may hold NUL legitimately, text fields not.
            form = await request.form()
            if any(isinstance(v, str) and "\x00" in v for _k, v in form.multi_items()):
                raise InvalidInput(
                    "The request contains a NUL character.",
                    fix="Remove it and send again.",
                )
            return
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            raise InvalidInput(
                "The request contains a NUL character.", fix="Remove it and send again."
            )
