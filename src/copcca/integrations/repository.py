"""Queries over one company's integrations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from copcca.db.repository import TenantRepository
from copcca.models.integrations import Integration


class IntegrationRepository(TenantRepository[Integration]):
    model = Integration
    noun = "connected system"

    def listing(self, categories: Iterable[str] | None = None) -> Sequence[Integration]:
        stmt = self.select()
        if categories is not None:
            stmt = stmt.where(Integration.category.in_(list(categories)))
        return self.all(stmt.order_by(Integration.created_at))

    def by_name(self, name: str) -> Integration | None:
        stmt = self.select().where(Integration.name == name)
        row: Integration | None = self.session.scalars(stmt).first()
        return row

    def by_provider(self, provider: str) -> Sequence[Integration]:
        return self.all(self.select().where(Integration.provider == provider))

    def names(self) -> set[str]:
        stmt = select(Integration.name).where(Integration.company_id == self.company_id)
        return set(self.session.scalars(stmt))
