"""The emulators' lazy collection agrees with a plain sorted list, whatever
records were changed, added or deleted, for every bound, offset and order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from copcca.sandbox.collection import Bound, LazyCollection

BASE = 1000


def make(i: int) -> dict[str, Any]:
    return {"id": BASE + i, "t": i * 10}


def build(seeded: int) -> LazyCollection:
    return LazyCollection(
        make=make,
        id_base=BASE,
        seeded=seeded,
        index_keys={"t": lambda i: (i * 10, BASE + i), "id": lambda i: (BASE + i,)},
        item_keys={"t": lambda r: (r["t"], r["id"]), "id": lambda r: (r["id"],)},
    )


changes = st.lists(
    st.tuples(
        st.sampled_from(["touch", "add", "delete"]),
        st.integers(1, 60),
        st.integers(0, 900),
    ),
    max_size=25,
)


def apply(coll: LazyCollection, truth: dict[int, dict[str, Any]], ops: Any) -> None:
    extra = 0
    for op, n, t in ops:
        if op == "touch" and BASE + n in truth:
            item = {"id": BASE + n, "t": t}
            coll.put(item)
            truth[BASE + n] = item
        elif op == "add":
            extra += 1
            item = {"id": BASE + 500 + extra, "t": t}
            coll.put(item)
            truth[item["id"]] = item
        elif op == "delete":
            coll.delete(BASE + n)
            truth.pop(BASE + n, None)


@settings(max_examples=150, deadline=None)
@given(
    seeded=st.integers(0, 50),
    ops=changes,
    low=st.one_of(st.none(), st.integers(0, 600)),
    offset=st.integers(0, 70),
    limit=st.integers(1, 20),
    reverse=st.booleans(),
)
def test_selection_matches_a_sorted_list(
    seeded: int, ops: Any, low: int | None, offset: int, limit: int, reverse: bool
) -> None:
    coll = build(seeded)
    truth = {BASE + i: make(i) for i in range(1, seeded + 1)}
    apply(coll, truth, ops)
    expected = sorted(truth.values(), key=lambda r: (r["t"], r["id"]))
    bounds = []
    if low is not None:
        expected = [r for r in expected if (r["t"], r["id"]) >= (low, -1)]
        bounds.append(("t", Bound((low, -1)), None))
    selection = coll.select("t", bounds=bounds)  # type: ignore[arg-type]
    assert selection.count() == len(expected)
    assert len(coll) == len(truth)
    assert list(selection.forward()) == expected
    assert list(selection.backward()) == expected[::-1]
    window = (expected[::-1] if reverse else expected)[offset : offset + limit]
    assert selection.page(offset, limit, reverse=reverse) == window


@settings(max_examples=80, deadline=None)
@given(seeded=st.integers(0, 40), ops=changes, after=st.integers(BASE, BASE + 600))
def test_strict_id_bound_with_time_mode_filter(
    seeded: int, ops: Any, after: int
) -> None:
    coll = build(seeded)
    truth = {BASE + i: make(i) for i in range(1, seeded + 1)}
    apply(coll, truth, ops)
    expected = sorted(
        (r for r in truth.values() if r["id"] > after), key=lambda r: r["id"]
    )
    selection = coll.select("id", bounds=[("id", Bound((after,), strict=True), None)])
    assert list(selection.forward()) == expected
    assert [coll.get(r["id"]) for r in expected] == expected


def test_a_million_seeded_records_cost_no_memory_until_read() -> None:
    coll = build(1_000_000)
    coll.put({"id": BASE + 10, "t": 99_999_999})
    selection = coll.select("t", bounds=[("t", Bound((9_999_990, -1)), None)])
    assert selection.count() == 3  # 999_999, 1_000_000 and the moved record
    assert [r["id"] for r in selection.page(0, 5)] == [
        BASE + 999_999,
        BASE + 1_000_000,
        BASE + 10,
    ]
    assert len(coll.overlay) == 1
