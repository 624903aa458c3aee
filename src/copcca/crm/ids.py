"""Time-ordered ids for rows a sync writes by the hundred.

A random (version 4) UUID puts each new row on a random page of every
index keyed by it, so one page of 250 orders dirties hundreds of index
pages once the tables are large, and SQLite rewrites each into its WAL at
commit: the cost of a page grows with the store. A version 7 UUID (RFC
9562: 48 bits of Unix milliseconds, then random bits) sorts by creation
time, so a batch's rows land together at the end of the index, on
PostgreSQL too. The ids stay unguessable enough for what they are (row
keys behind tenant checks, never secrets) and still parse as UUIDs.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_BATCH = 256  # ids' worth of random bits asked of the OS at once


class _Randomness(threading.local):
    """An id's random bits, fetched in bulk (one ``urandom`` call per 256
    ids) with the version and variant bits already set: the last ten bytes
    of each id, as an integer."""

    def __init__(self) -> None:
        self.bits: list[int] = []

    def refill(self) -> None:
        raw = bytearray(os.urandom(10 * _BATCH))
        # Byte 6 of a UUID (here 0) holds the version, byte 8 (here 2) the
        # variant; the rest of both bytes stays random.
        raw[0::10] = bytes(b & 0x0F | 0x70 for b in raw[0::10])
        raw[2::10] = bytes(b & 0x3F | 0x80 for b in raw[2::10])
        self.bits = [
            int.from_bytes(raw[i : i + 10], "big") for i in range(0, len(raw), 10)
        ]


_random = _Randomness()
_new = object.__new__
_time_ns = time.time_ns
_set = object.__setattr__
# Read once: an enum member looked up on its class goes through a
# descriptor each time, a good share of an id's cost.
_UNKNOWN = uuid.SafeUUID.unknown


def new_id() -> uuid.UUID:
    """A version 7 UUID: creation time first, then 74 random bits."""
    bits = _random.bits
    if not bits:
        _random.refill()
        bits = _random.bits
    value = (_time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80 | bits.pop()
    # ``uuid.UUID(int=value)`` re-checks what is correct by construction;
    # an id is made for every row a sync page writes.
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _UNKNOWN)
    return made
