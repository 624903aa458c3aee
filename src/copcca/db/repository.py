"""Repository base: built for one company, every query filters on it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from copcca.errors import NotFound

M = TypeVar("M")


class TenantRepository(Generic[M]):
    """Reads and writes one tenant-owned model for exactly one company."""

    model: ClassVar[type[Any]]
    noun: ClassVar[str] = "record"

    def __init__(self, session: Session, company_id: uuid.UUID) -> None:
        self.session = session
        self.company_id = company_id

    def select(self) -> Select[Any]:
        """A SELECT already scoped to this company; build every query on it."""
        return select(self.model).where(self.model.company_id == self.company_id)

    def get(self, id_: uuid.UUID) -> M | None:
        stmt = self.select().where(self.model.id == id_)
        row: M | None = self.session.scalars(stmt).first()
        return row

    def get_or_404(self, id_: uuid.UUID) -> M:
        """The row, or a 404 that looks the same whether it is missing or foreign."""
        row = self.get(id_)
        if row is None:
            raise NotFound(f"No such {self.noun}.", fix="Check the link or id.")
        return row

    def add(self, row: M) -> M:
        row.company_id = self.company_id  # type: ignore[attr-defined]
        self.session.add(row)
        return row

    def delete(self, row: M) -> None:
        self.session.delete(row)

    def all(self, stmt: Select[Any] | None = None) -> Sequence[M]:
        rows: Sequence[M] = self.session.scalars(
            stmt if stmt is not None else self.select()
        ).all()
        return rows

    def count(self, stmt: Select[Any] | None = None) -> int:
        base = stmt if stmt is not None else self.select()
        counted = select(func.count()).select_from(base.order_by(None).subquery())
        return int(self.session.scalar(counted) or 0)
