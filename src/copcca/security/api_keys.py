"""API keys for developers: ``ck_<company hex>_<secret>``. The company part
scopes the lookup under row-level security; only a SHA-256 is stored."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.db.session import Database
from copcca.errors import InvalidInput
from copcca.models.tenancy import ApiKey, Role
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.security.signatures import sha256_hex

PREFIX = "ck_"
TOUCH_EVERY = timedelta(minutes=1)


class ApiKeyRepository(TenantRepository[ApiKey]):
    model = ApiKey
    noun = "API key"

    def active(self) -> Sequence[ApiKey]:
        stmt = self.select().where(ApiKey.revoked_at.is_(None))
        return self.all(stmt.order_by(ApiKey.created_at.desc()))


def issue(
    repo: ApiKeyRepository, *, name: str, role: Role, created_by: uuid.UUID | None
) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "Give the key a name of 1 to 100 characters.",
            fix="For example 'Website' or 'Accounting export'.",
        )
    token = f"{PREFIX}{repo.company_id.hex}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=token[:12] + "…" + token[-4:],
        key_hash=sha256_hex(token),
        role=role.value,
        created_by=created_by,
    )
    repo.add(row)
    return row, token


def parse(token: str) -> uuid.UUID | None:
    if not token.startswith(PREFIX):
        return None
    company_hex, _, secret = token[len(PREFIX) :].partition("_")
    if not secret:
        return None
    try:
        return uuid.UUID(hex=company_hex)
    except ValueError:
        return None


def authenticate(db: Database, token: str) -> Principal | None:
    company_id = parse(token)
    if company_id is None:
        return None
    with db.transaction(company_id) as session:
        row = session.scalars(
            select(ApiKey).where(
                ApiKey.company_id == company_id,
                ApiKey.key_hash == sha256_hex(token),
                ApiKey.revoked_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
            row.last_used_at = now
        return Principal(
            company_id=company_id,
            user_id=None,
            role=Role(row.role),
            label=f"API key '{row.name}'",
            kind="api_key",
            api_key_id=row.id,
        )


def create(
    session: Session, actor: Principal, *, name: str, role: Role
) -> tuple[ApiKey, str]:
    """Issue a key for the actor's company (owners and admins), audited."""
    actor.require_admin("manage API keys")
    wanted = Role.ADMIN if role in (Role.OWNER, Role.ADMIN) else Role.MEMBER
    row, token = issue(
        ApiKeyRepository(session, actor.company_id),
        name=name,
        role=wanted,
        created_by=actor.user_id,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "api_key.create",
        f"Created API key '{row.name}'.",
        target_type="api_key",
        target_id=row.id,
        after={"name": row.name, "role": row.role},
    )
    return row, token


def revoke(session: Session, actor: Principal, key_id: uuid.UUID) -> ApiKey:
    actor.require_admin("manage API keys")
    row = ApiKeyRepository(session, actor.company_id).get_or_404(key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "api_key.revoke",
            f"Revoked API key '{row.name}'.",
            target_type="api_key",
            target_id=row.id,
        )
    return row
