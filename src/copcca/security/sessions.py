"""Browser sessions. The cookie is ``<company hex>.<random token>``: the
company part lets the lookup run under that company's row-level security,
and only the token's SHA-256 is stored, so a database leak holds no cookie."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.session import Database
from copcca.models.tenancy import AuthSession, Membership, Role, User
from copcca.security.principal import Principal
from copcca.security.signatures import sha256_hex

COOKIE_NAME = "copcca_session"


@dataclass(frozen=True)
class SessionLookup:
    principal: Principal | None
    reason: Literal["ok", "missing", "expired", "invalid"]


def create_session(
    session: Session,
    *,
    user: User,
    company_id: uuid.UUID,
    days: int,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Store a new session and return the cookie value."""
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(
            id=sha256_hex(token),
            company_id=company_id,
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=utcnow() + timedelta(days=days),
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    return f"{company_id.hex}.{token}"


def parse_cookie(value: str | None) -> tuple[uuid.UUID, str] | None:
    if not value or "." not in value:
        return None
    company_hex, _, token = value.partition(".")
    try:
        company_id = uuid.UUID(hex=company_hex)
    except ValueError:
        return None
    if not token or len(token) > 200:
        return None
    return company_id, token


def lookup(db: Database, cookie: str | None) -> SessionLookup:
    """Resolve a cookie to a principal, or say why not."""
    parsed = parse_cookie(cookie)
    if parsed is None:
        return SessionLookup(None, "missing" if not cookie else "invalid")
    company_id, token = parsed
    with db.transaction(company_id, write=False) as session:
        row = session.scalars(
            select(AuthSession).where(
                AuthSession.company_id == company_id,
                AuthSession.id == sha256_hex(token),
            )
        ).first()
        if row is None:
            return SessionLookup(None, "invalid")
        if row.expires_at <= utcnow():
            return SessionLookup(None, "expired")
        found = session.execute(
            select(User, Membership)
            .join(Membership, Membership.user_id == User.id)
            .where(
                User.id == row.user_id,
                User.is_active.is_(True),
                Membership.company_id == company_id,
            )
        ).first()
        if found is None:
            return SessionLookup(None, "invalid")
        user, membership = found
        return SessionLookup(
            Principal(
                company_id=company_id,
                user_id=user.id,
                role=Role(membership.role),
                label=user.email,
                kind="user",
                locale=user.locale or "en",
                session_id=row.id,
                csrf_token=row.csrf_token,
            ),
            "ok",
        )


def end_session(session: Session, principal: Principal) -> None:
    if principal.session_id:
        session.execute(
            delete(AuthSession).where(
                AuthSession.company_id == principal.company_id,
                AuthSession.id == principal.session_id,
            )
        )
