"""A sorted collection for emulators: a large *seeded* part generated on
demand from its index, plus a small in-memory *overlay* of records created
or changed since.

Seeded record ``i`` (1..n) is a pure function of ``i``, and every sort key
an emulator offers grows with ``i`` (ids, modified and created times), so
a position, a count or a time filter is a binary search and a store of
100,000 orders costs the same memory as one of 100. A seeded record that
changes moves to the overlay (its seeded slot becomes a hole), so every
record appears exactly once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Key = tuple[Any, ...]
Item = dict[str, Any]
Match = Callable[[Item], bool]


@dataclass(frozen=True)
class Bound:
    """A key limit in one sort mode: ``key`` itself included unless strict."""

    key: Key
    strict: bool = False


class LazyCollection:
    """Records sorted by any of several monotonic keys ("modes")."""

    def __init__(
        self,
        *,
        make: Callable[[int], Item],
        id_base: int,
        index_keys: dict[str, Callable[[int], Key]],
        item_keys: dict[str, Callable[[Item], Key]],
        seeded: int = 0,
    ) -> None:
        self.make = make
        self.id_base = id_base
        self.index_keys = index_keys
        self.item_keys = item_keys
        self.seeded = seeded
        self.overlay: dict[int, Item] = {}
        self.holes: list[int] = []  # seeded indexes now in the overlay or deleted
        self._hole_set: set[int] = set()
        self._sorted: dict[str, list[tuple[Key, int]]] = {m: [] for m in item_keys}

    # single records ---------------------------------------------------------
    def index_of(self, id_: int) -> int | None:
        index = id_ - self.id_base
        return index if 1 <= index <= self.seeded else None

    def get(self, id_: int) -> Item | None:
        if id_ in self.overlay:
            return self.overlay[id_]
        index = self.index_of(id_)
        if index is None or index in self._hole_set:
            return None
        return self.make(index)

    def put(self, item: Item) -> None:
        """Insert or replace ``item`` (keyed by ``item["id"]``)."""
        id_ = int(item["id"])
        self._unsort(id_)
        self._hole(id_)
        self.overlay[id_] = item
        for mode, key_of in self.item_keys.items():
            insort(self._sorted[mode], (key_of(item), id_))

    def delete(self, id_: int) -> bool:
        found = self.get(id_) is not None
        self._unsort(id_)
        self.overlay.pop(id_, None)
        self._hole(id_)
        return found

    def __len__(self) -> int:
        return self.seeded - len(self.holes) + len(self.overlay)

    def is_hole(self, index: int) -> bool:
        return index in self._hole_set

    def _hole(self, id_: int) -> None:
        index = self.index_of(id_)
        if index is not None and index not in self._hole_set:
            insort(self.holes, index)
            self._hole_set.add(index)

    def _unsort(self, id_: int) -> None:
        old = self.overlay.get(id_)
        if old is None:
            return
        for mode, key_of in self.item_keys.items():
            entries = self._sorted[mode]
            pos = bisect_left(entries, (key_of(old), id_))
            if pos < len(entries) and entries[pos][1] == id_:
                del entries[pos]

    # selections -------------------------------------------------------------
    def select(
        self,
        mode: str,
        *,
        bounds: list[tuple[str, Bound | None, Bound | None]] | None = None,
        match: Match | None = None,
    ) -> Selection:
        """Records in ``mode`` order within key ``bounds`` (``(mode, low,
        high)`` triples, any mode: they all grow with the seeded index).

        ``match`` filters the overlay only; a filter that seeded records
        could fail must be applied by the caller while iterating.
        """
        lo, hi = 1, self.seeded
        checks: list[Match] = [] if match is None else [match]
        for bmode, low, high in bounds or []:
            found = range(1, self.seeded + 1)
            key_of = self.index_keys[bmode]
            if low is not None:
                find = bisect_right if low.strict else bisect_left
                lo = max(lo, find(found, low.key, key=key_of) + 1)
                checks.append(_above(self.item_keys[bmode], low))
            if high is not None:
                find = bisect_left if high.strict else bisect_right
                hi = min(hi, find(found, high.key, key=key_of))
                checks.append(_below(self.item_keys[bmode], high))
        entries = [
            e
            for e in self._sorted[mode]
            if all(check(self.overlay[e[1]]) for check in checks)
        ]
        return Selection(self, self.index_keys[mode], lo, hi, entries)


def _above(key_of: Callable[[Item], Key], bound: Bound) -> Match:
    if bound.strict:
        return lambda item: key_of(item) > bound.key
    return lambda item: key_of(item) >= bound.key


def _below(key_of: Callable[[Item], Key], bound: Bound) -> Match:
    if bound.strict:
        return lambda item: key_of(item) < bound.key
    return lambda item: key_of(item) <= bound.key


class Selection:
    """A seeded index range merged with sorted overlay entries."""

    def __init__(
        self,
        coll: LazyCollection,
        key_of: Callable[[int], Key],
        lo: int,
        hi: int,
        entries: list[tuple[Key, int]],
    ) -> None:
        self.coll = coll
        self.key_of = key_of
        self.lo, self.hi = lo, hi
        self.entries = entries

    def _live(self, lo: int, hi_excl: int) -> int:
        """Seeded records with index in [lo, hi_excl)."""
        if hi_excl <= lo:
            return 0
        holes = self.coll.holes
        return hi_excl - lo - (bisect_left(holes, hi_excl) - bisect_left(holes, lo))

    def count(self) -> int:
        return self._live(self.lo, self.hi + 1) + len(self.entries)

    def forward(self, offset: int = 0) -> Iterator[Item]:
        """Records in order, starting ``offset`` records in."""
        index, pos = self._skip(offset)
        coll, entries, key_of = self.coll, self.entries, self.key_of
        while True:
            while index <= self.hi and coll.is_hole(index):
                index += 1
            seeded_left = index <= self.hi
            if pos >= len(entries) and not seeded_left:
                return
            if pos < len(entries) and (
                not seeded_left or entries[pos][0] < key_of(index)
            ):
                yield coll.overlay[entries[pos][1]]
                pos += 1
            else:
                yield coll.make(index)
                index += 1

    def backward(self) -> Iterator[Item]:
        """Records in reverse order."""
        coll, entries, key_of = self.coll, self.entries, self.key_of
        index, pos = self.hi, len(entries) - 1
        while True:
            while index >= self.lo and coll.is_hole(index):
                index -= 1
            seeded_left = index >= self.lo
            if pos < 0 and not seeded_left:
                return
            if pos >= 0 and (not seeded_left or entries[pos][0] > key_of(index)):
                yield coll.overlay[entries[pos][1]]
                pos -= 1
            else:
                yield coll.make(index)
                index -= 1

    def page(self, offset: int, limit: int, *, reverse: bool = False) -> list[Item]:
        """``limit`` records from ``offset`` (counted from the end if reverse)."""
        if not reverse:
            out: list[Item] = []
            for item in self.forward(offset):
                if len(out) == limit:
                    break
                out.append(item)
            return out
        total = self.count()
        start = max(0, total - offset - limit)
        size = max(0, min(limit, total - offset))
        return self.page(start, size)[::-1]

    def _skip(self, offset: int) -> tuple[int, int]:
        """The seeded index and overlay position ``offset`` records in."""
        index, pos = self.lo, 0
        if offset <= 0:
            return index, pos
        found = range(1, self.coll.seeded + 1)
        taken = 0  # overlay records before the target
        while pos + taken < len(self.entries):
            first_after = max(
                index,
                bisect_left(found, self.entries[pos + taken][0], key=self.key_of) + 1,
            )
            before = self._live(index, min(first_after, self.hi + 1))
            if offset < before + taken:
                break
            if offset == before + taken:
                return first_after, pos + taken
            taken += 1
        return self._nth_live(index, offset - taken), pos + taken

    def _nth_live(self, start: int, n: int) -> int:
        index = start + n
        holes = self.coll.holes
        for hole in holes[bisect_left(holes, start) :]:
            if hole > index:
                break
            index += 1
        return index


def record_keys(
    changed: tuple[str, str], created: tuple[str, str], micros: Callable[[str], int]
) -> dict[str, Callable[[Item], Key]]:
    """Sort keys of stored records: ``(mode, field)`` for the changed and
    created times (ties broken by id), and ``id``."""

    def by_time(field: str) -> Callable[[Item], Key]:
        return lambda item: (micros(item[field]), int(item["id"]))

    return {
        changed[0]: by_time(changed[1]),
        created[0]: by_time(created[1]),
        "id": lambda item: (int(item["id"]),),
    }


def seeded_keys(
    base: int, step_seconds: int, *, changed: str, created: str, created_lag: bool
) -> dict[str, Callable[[int], Key]]:
    """The same keys for seeded record ``i``: changed at ``i * step``, created
    up to six seconds earlier when ``created_lag`` (still growing with i)."""
    step = step_seconds * 1_000_000
    lag = 1_000_000 if created_lag else 0
    return {
        changed: lambda i: (i * step, base + i),
        created: lambda i: (i * step - (i % 7) * lag, base + i),
        "id": lambda i: (base + i,),
    }
