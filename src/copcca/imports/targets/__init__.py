"""What can be imported, and the fields of each target.

Header synonyms are in English, Swahili and French (``words.py``); they are
compared after lower-casing, dropping accents and punctuation (see
``mapping.normalise``).
"""

from __future__ import annotations

from copcca.errors import NotFound
from copcca.imports.targets.base import Field, Kind, Target
from copcca.imports.targets.ledger import INVOICES, PAYMENTS, SALES
from copcca.imports.targets.records import (
    COMPETITOR_PRICES,
    CUSTOMERS,
    PRODUCTS,
    STOCK_COUNTS,
)

__all__ = [
    "COMPETITOR_PRICES",
    "CUSTOMERS",
    "INVOICES",
    "PAYMENTS",
    "PRODUCTS",
    "SALES",
    "STOCK_COUNTS",
    "TARGETS",
    "Field",
    "Kind",
    "Target",
    "get_target",
    "register_target",
]

TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        CUSTOMERS,
        PRODUCTS,
        SALES,
        INVOICES,
        PAYMENTS,
        STOCK_COUNTS,
        COMPETITOR_PRICES,
    )
}


def register_target(target: Target) -> None:
    """Add a target defined elsewhere (its writer goes to
    ``runner.register_writer``)."""
    TARGETS[target.key] = target


def get_target(key: str) -> Target:
    try:
        return TARGETS[key]
    except KeyError as exc:
        raise NotFound(
            f"Cannot import into {key!r}.",
            fix="Choose one of: " + ", ".join(TARGETS) + ".",
        ) from exc
