"""Which keys might already be in the CRM, so a batch only looks up those.

A Bloom filter (no false negatives): seeded at the start of a run with every
phone and email the company's customers have, and fed each batch's keys as
they are written. A key it does not hold cannot match, so a million-row
import into a company that has few of those customers asks the database
almost nothing; a key it might hold is looked up as before.

Phones (E.164, ``+`` and digits) and emails (with an ``@``) can never be the
same string, so they share one filter without a prefix per kind. That lets
the filter use each string's own hash, which Python keeps on the string
once the batch's dictionaries have computed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copcca.models.crm import Customer

BITS_PER_KEY = 12
SEED_CHUNK = 10_000


class KeyFilter:
    def __init__(self, expected: int) -> None:
        size = 1 << 16
        while size < expected * BITS_PER_KEY and size < 1 << 27:
            size <<= 1
        self.mask = size - 1
        self.bits = bytearray(size >> 3)

    def add(self, key: str) -> None:
        self.add_all((key,))

    def add_all(self, keys: Iterable[str | None]) -> None:
        """Add every key that is not empty, in one loop."""
        bits, mask = self.bits, self.mask
        for key in keys:
            if not key:
                continue
            h = hash(key)
            p = h & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 21) & mask
            bits[p >> 3] |= 1 << (p & 7)
            p = (h >> 42) & mask
            bits[p >> 3] |= 1 << (p & 7)

    def may_hold(self, keys: Iterable[str]) -> list[str]:
        """The keys that may have been added (all that were, and a few
        that were not), in one loop."""
        bits, mask = self.bits, self.mask
        out = []
        for key in keys:
            h = hash(key)
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
        return isinstance(key, str) and bool(self.may_hold((key,)))


def customer_keys(
    session: Session, company_id: uuid.UUID, expected_new: int
) -> KeyFilter:
    """A filter holding every primary phone and email of the company, sized
    for them and the ``expected_new`` customers an import may add."""
    query = select(Customer.phone, Customer.email).where(
        Customer.company_id == company_id
    )
    existing = session.scalar(select(func.count()).select_from(query.subquery()))
    keys = KeyFilter((int(existing or 0) + expected_new) * 2 + 1024)
    rows = session.execute(query.execution_options(yield_per=SEED_CHUNK))
    for chunk in rows.partitions():
        keys.add_all(phone for phone, _ in chunk)
        keys.add_all(email for _, email in chunk)
    return keys
