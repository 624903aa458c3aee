"""Which keys might already be in the CRM, so a batch only looks up those.

A Bloom filter (no false negatives): seeded at the start of a run with every
phone and email the company's customers have, and fed each batch's keys as
they are written. A key it does not hold cannot match, so a million-row
import into a company that has few of those customers asks the database
almost nothing; a key it might hold is looked up as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from copcca.models.crm import Customer

BITS_PER_KEY = 12


class KeyFilter:
    def __init__(self, expected: int) -> None:
        size = 1 << 16
        while size < expected * BITS_PER_KEY and size < 1 << 27:
            size <<= 1
        self.mask = size - 1
        self.bits = bytearray(size >> 3)

    def add(self, key: str) -> None:
        self.add_all("", (key,))

    def update(self, keys: Iterable[str | None]) -> None:
        for key in keys:
            if key:
                self.add(key)

    def add_all(self, prefix: str, keys: Iterable[str]) -> None:
        """``add(prefix + key)`` for each key, in one loop."""
        bits, mask = self.bits, self.mask
        for key in keys:
            h = hash(prefix + key)
            p = h & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 21) & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 42) & mask
            bits[p >> 3] |= 1 << (p & 7)

    def may_hold(self, prefix: str, keys: Iterable[str]) -> list[str]:
        """The keys for which ``prefix + key in self``, in one loop."""
        bits, mask = self.bits, self.mask
        out = []
        for key in keys:
            h = hash(prefix + key)
            p = h & mask
            if not bits[p >> 3] & (1 << (p & 7)):
                continue
            p = (h >> 21) & mask
            if not bits[p >> 3] & (1 << (p & 7)):
                continue
            p = (h >> 42) & mask
            if bits[p >> 3] & (1 << (p & 7)):
                out.append(key)
        return out

    def __contains__(self, key: object) -> bool:
        h = hash(key)
        bits, mask = self.bits, self.mask
        p = h & mask
        if not bits[p >> 3] & (1 << (p & 7)):
            return False
        p = (h >> 21) & mask
        if not bits[p >> 3] & (1 << (p & 7)):
            return False
        p = (h >> 42) & mask
        return bool(bits[p >> 3] & (1 << (p & 7)))


def customer_keys(
    session: Session, company_id: uuid.UUID, expected_new: int
) -> KeyFilter:
    """A filter holding every primary phone and email of the company."""
    count = 0
    rows = session.execute(
        select(Customer.phone, Customer.email)
        .where(Customer.company_id == company_id)
        .execution_options(yield_per=10_000)
    )
    keys = KeyFilter(expected_new * 2 + 1024)
    for phone, email in rows:
        count += 1
        if phone:
            keys.add("p" + phone)
        if email:
            keys.add("e" + email)
    if count * 2 > expected_new * 2 + 1024:  # more existing than planned: resize
        bigger = KeyFilter(count * 2 + expected_new * 2)
        for phone, email in session.execute(
            select(Customer.phone, Customer.email).where(
                Customer.company_id == company_id
            )
        ):
            bigger.update(
                ["p" + phone if phone else None, "e" + email if email else None]
            )
        return bigger
    return keys
