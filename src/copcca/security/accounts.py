"""Sign-up, sign-in, invitations and members."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from copcca.crm.countries import MARKETS, market
from copcca.db.base import utcnow
from copcca.db.repository import TenantRepository
from copcca.db.session import Database
from copcca.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from copcca.models.tenancy import (
    AuthSession,
    Company,
    Invitation,
    Membership,
    Role,
    User,
)
from copcca.security import audit, sessions
from copcca.security.passwords import MIN_LENGTH, hash_password, verify_password
from copcca.security.principal import Principal
from copcca.security.signatures import sha256_hex

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INVITE_DAYS = 7
LOCALES = ("en", "sw", "fr")


def clean_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 320:
        raise InvalidInput(
            "That email address does not look right.",
            fix="Write it like name@example.com.",
            field="email",
        )
    return value


def check_password(password: str) -> None:
    if len(password or "") < MIN_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_LENGTH} characters.",
            fix="Choose a longer password; a short sentence works well.",
            field="password",
        )


def _clean_name(value: str, what: str, field: str) -> str:
    name = (value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"Please enter the {what}.", field=field)
    return name


@dataclass(frozen=True)
class SignUp:
    company_name: str
    name: str
    email: str
    password: str
    country: str = "KE"
    locale: str | None = None


def sign_up(db: Database, form: SignUp) -> tuple[User, Company]:
    """Create a company and its owner."""
    company_name = _clean_name(form.company_name, "business name", "company_name")
    name = _clean_name(form.name, "your name", "name")
    email = clean_email(form.email)
    check_password(form.password)
    if form.country.upper() not in MARKETS:
        raise InvalidInput("Choose your country from the list.", field="country")
    where = market(form.country)
    locale = form.locale if form.locale in LOCALES else where.locale
    company_id = uuid.uuid4()
    with db.transaction(company_id) as session:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict(
                "An account with this email already exists.",
                fix="Sign in instead, or use another email address.",
                field="email",
            )
        company = Company(
            id=company_id,
            name=company_name,
            country=where.code,
            currency=where.currency,
            timezone=where.timezone,
            locale=locale,
        )
        user = User(
            name=name,
            email=email,
            password_hash=hash_password(form.password),
            locale=locale,
        )
        session.add_all([company, user])
        session.flush()
        session.add(Membership(company_id=company_id, user_id=user.id, role=Role.OWNER))
        audit.record(
            session,
            _user_principal(company_id, user, Role.OWNER),
            "company.create",
            f"{email} created the business '{company_name}'.",
            target_type="company",
            target_id=company_id,
        )
    return user, company


def _user_principal(company_id: uuid.UUID, user: User, role: Role) -> Principal:
    return Principal(
        company_id=company_id,
        user_id=user.id,
        role=role,
        label=user.email,
        kind="user",
        locale=user.locale or "en",
    )


def authenticate(db: Database, email: str, password: str) -> tuple[User, uuid.UUID]:
    """The user and the company to open, or a 401 that never says which part
    was wrong."""
    wrong = NotAuthenticated(
        "That email and password do not match an account.",
        fix="Check both and try again, or ask your business owner for an invitation.",
    )
    address = (email or "").strip().lower()
    with db.transaction(write=False) as session:
        user = session.scalars(select(User).where(User.email == address)).first()
    if not verify_password(user.password_hash if user else None, password or ""):
        raise wrong
    assert user is not None
    if not user.is_active:
        raise wrong
    with db.transaction(user_id=user.id) as session:
        company_id = session.scalar(
            select(Membership.company_id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.created_at)
            .limit(1)
        )
        if company_id is None:
            raise wrong
        fresh = session.get(User, user.id)
        assert fresh is not None
        fresh.last_login_at = utcnow()
    return user, company_id


class MemberRepository(TenantRepository[Membership]):
    model = Membership
    noun = "member"

    def with_users(self) -> Sequence[tuple[Membership, User]]:
        stmt = (
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.company_id == self.company_id)
            .order_by(Membership.created_at)
        )
        return [(m, u) for m, u in self.session.execute(stmt).all()]

    def owners(self) -> int:
        stmt = select(func.count()).where(
            Membership.company_id == self.company_id, Membership.role == Role.OWNER
        )
        return int(self.session.scalar(stmt) or 0)


class InvitationRepository(TenantRepository[Invitation]):
    model = Invitation
    noun = "invitation"

    def pending(self) -> Sequence[Invitation]:
        stmt = self.select().where(
            Invitation.accepted_at.is_(None), Invitation.expires_at > utcnow()
        )
        return self.all(stmt.order_by(Invitation.created_at.desc()))


def invite(session: Session, actor: Principal, email: str, role: str) -> str:
    """Create an invitation and return the secret part of its link."""
    actor.require_admin("invite people")
    address = clean_email(email)
    try:
        wanted = Role(role)
    except ValueError as exc:
        raise InvalidInput("Choose admin or member.", field="role") from exc
    if wanted is Role.OWNER and actor.role is not Role.OWNER:
        raise InvalidInput("Only an owner can invite another owner.", field="role")
    members = MemberRepository(session, actor.company_id)
    for _membership, user in members.with_users():
        if user.email == address:
            raise Conflict(f"{address} is already a member of this business.")
    token = secrets.token_urlsafe(24)
    InvitationRepository(session, actor.company_id).add(
        Invitation(
            email=address,
            role=wanted.value,
            token_hash=sha256_hex(token),
            invited_by=actor.user_id,
            expires_at=utcnow() + timedelta(days=INVITE_DAYS),
        )
    )
    audit.record(
        session,
        actor,
        "member.invite",
        f"Invited {address} as {wanted.value}.",
        target_type="invitation",
        after={"email": address, "role": wanted.value},
    )
    return f"{actor.company_id.hex}.{token}"


def parse_invite(code: str) -> tuple[uuid.UUID, str]:
    company_hex, _, token = (code or "").partition(".")
    try:
        return uuid.UUID(hex=company_hex), token
    except ValueError as exc:
        raise NotFound("This invitation link is not valid.") from exc


def find_invitation(session: Session, company_id: uuid.UUID, token: str) -> Invitation:
    invitation = session.scalars(
        select(Invitation).where(
            Invitation.company_id == company_id,
            Invitation.token_hash == sha256_hex(token),
        )
    ).first()
    if invitation is None or invitation.accepted_at is not None:
        raise NotFound(
            "This invitation link is not valid or was already used.",
            fix="Ask the business owner to send a new invitation.",
        )
    if invitation.expires_at <= utcnow():
        raise NotFound(
            "This invitation has expired.",
            fix="Ask the business owner to send a new invitation.",
        )
    return invitation


def accept_invite(db: Database, code: str, *, name: str, password: str) -> User:
    """Join a business. An existing account proves itself with its password."""
    company_id, token = parse_invite(code)
    with db.transaction(company_id) as session:
        invitation = find_invitation(session, company_id, token)
        user = session.scalars(
            select(User).where(User.email == invitation.email)
        ).first()
        if user is None:
            check_password(password)
            user = User(
                name=_clean_name(name, "your name", "name"),
                email=invitation.email,
                password_hash=hash_password(password),
            )
            session.add(user)
            session.flush()
        elif not verify_password(user.password_hash, password):
            raise NotAuthenticated(
                "An account with this email exists: enter its password to join.",
                field="password",
            )
        session.add(
            Membership(company_id=company_id, user_id=user.id, role=invitation.role)
        )
        invitation.accepted_at = utcnow()
        audit.record(
            session,
            _user_principal(company_id, user, Role(invitation.role)),
            "member.join",
            f"{user.email} joined as {invitation.role}.",
            target_type="user",
            target_id=user.id,
        )
        return user


def change_role(
    session: Session, actor: Principal, membership_id: uuid.UUID, role: str
) -> Membership:
    actor.require_admin("change roles")
    members = MemberRepository(session, actor.company_id)
    membership = members.get_or_404(membership_id)
    try:
        wanted = Role(role)
    except ValueError as exc:
        raise InvalidInput("Choose owner, admin or member.", field="role") from exc
    if Role.OWNER in (wanted, Role(membership.role)) and actor.role is not Role.OWNER:
        raise InvalidInput("Only an owner can make or unmake owners.")
    if membership.role == Role.OWNER and wanted != Role.OWNER and members.owners() < 2:
        raise Conflict(
            "A business needs at least one owner.",
            fix="Make someone else an owner first.",
        )
    before = membership.role
    membership.role = wanted.value
    audit.record(
        session,
        actor,
        "member.role",
        f"Changed a role from {before} to {wanted.value}.",
        target_type="membership",
        target_id=membership.id,
        before={"role": before},
        after={"role": wanted.value},
    )
    return membership


def set_locale(session: Session, actor: Principal, locale: str) -> None:
    if locale not in LOCALES or actor.user_id is None:
        raise InvalidInput("Choose English, Kiswahili or Français.", field="locale")
    user = session.get(User, actor.user_id)
    if user is not None:
        user.locale = locale


def start_session(
    db: Database,
    user: User,
    company_id: uuid.UUID,
    *,
    days: int,
    ip: str | None,
    user_agent: str | None,
) -> str:
    """Open a browser session (audited) and return its cookie value."""
    with db.transaction(company_id) as session:
        role = session.scalar(
            select(Membership.role).where(
                Membership.company_id == company_id, Membership.user_id == user.id
            )
        )
        cookie = sessions.create_session(
            session,
            user=user,
            company_id=company_id,
            days=days,
            ip=ip,
            user_agent=user_agent,
        )
        audit.record(
            session,
            _user_principal(company_id, user, Role(role or Role.MEMBER)),
            "auth.sign_in",
            f"{user.email} signed in.",
            target_type="user",
            target_id=user.id,
            ip=ip,
        )
    return cookie


def remove_member(session: Session, actor: Principal, membership_id: uuid.UUID) -> None:
    """Take someone out of the business; their sessions here end too."""
    actor.require_admin("remove people")
    members = MemberRepository(session, actor.company_id)
    membership = members.get_or_404(membership_id)
    if membership.user_id == actor.user_id:
        raise InvalidInput("You cannot remove yourself.", fix="Ask another owner.")
    if membership.role == Role.OWNER and actor.role is not Role.OWNER:
        raise InvalidInput("Only an owner can remove an owner.")
    user = session.get(User, membership.user_id)
    session.execute(
        delete(AuthSession).where(
            AuthSession.company_id == actor.company_id,
            AuthSession.user_id == membership.user_id,
        )
    )
    audit.record(
        session,
        actor,
        "member.remove",
        f"Removed {user.email if user else 'a member'} ({membership.role}).",
        target_type="membership",
        target_id=membership.id,
        before={"role": membership.role, "email": user.email if user else None},
    )
    members.delete(membership)
