"""Who is acting: a signed-in person, an API key, or the system itself.

The company always comes from here (session cookie, API key or job row),
never from request input (promise T5).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from copcca.errors import PermissionDenied
from copcca.models.tenancy import Role

SENSITIVE_CATEGORIES = frozenset({"payments", "accounting"})


@dataclass(frozen=True)
class Principal:
    company_id: uuid.UUID
    user_id: uuid.UUID | None
    role: Role
    label: str
    kind: Literal["user", "api_key", "system"]
    locale: str = "en"
    session_id: str | None = None
    csrf_token: str | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role.is_admin

    def require_admin(self, what: str = "do this") -> None:
        if not self.is_admin:
            raise PermissionDenied(
                f"Only the owner or an admin can {what}.",
                fix="Ask the business owner to do it, or to make you an admin.",
            )

    def can_manage_category(self, category: str) -> bool:
        """Payment and accounting systems are for owners and admins (T8)."""
        return self.is_admin or category not in SENSITIVE_CATEGORIES

    def require_category(self, category: str) -> None:
        if not self.can_manage_category(category):
            raise PermissionDenied(
                "Only the owner or an admin can see or change payment and "
                "accounting connections.",
                fix="Ask the business owner to connect it, or to make you an admin.",
            )

    @classmethod
    def system(cls, company_id: uuid.UUID, label: str = "system") -> Principal:
        return cls(
            company_id=company_id,
            user_id=None,
            role=Role.OWNER,
            label=label,
            kind="system",
        )
