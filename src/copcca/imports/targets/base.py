"""What a target is: its fields, their kinds, and the groups a row needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"
    PHONE = "phone"
    EMAIL = "email"
    MONEY = "money"
    INT = "int"
    DATE = "date"
    CURRENCY = "currency"
    COUNTRY = "country"
    BOOL = "bool"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind
    synonyms: tuple[str, ...] = ()
    example: str = ""
    max_len: int | None = None


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    entity: str
    fields: tuple[Field, ...]
    # Each row needs at least one field of every group (e.g. a name or a phone).
    required: tuple[tuple[str, ...], ...]
    description: str = ""

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def required_label(self) -> str:
        return "; ".join(
            " or ".join(self.field(n).label for n in group) for group in self.required
        )
