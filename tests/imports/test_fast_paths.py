"""The shortcuts a million-row import takes agree with the full parsers:
plain amounts, phones in the company country's usual shapes, and minor
units per currency. Each compares against the general path on generated
input, so a shortcut that drifts from it fails here."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from copcca.imports import validation as v
from copcca.imports import values
from copcca.imports.targets import get_target

CUSTOMERS = get_target("customers")


def _general(text: str) -> object:
    try:
        return values.parse_amount_fully(text)
    except values.Bad as exc:
        return ("bad", exc.code)


amount_text = st.one_of(
    st.text(alphabet="0123456789 ,.'-()/=KkSsHhTUuXEeF$€", max_size=16),
    st.builds(
        lambda pre, n, style, dec: (
            pre
            + (
                f"{n:,}"
                if style == 0
                else f"{n:,}".replace(",", " ")
                if style == 1
                else str(n)
            )
            + dec
        ),
        st.sampled_from(
            ["", "KSh ", "Ksh.", "KES ", "TSh ", "Sh ", "USD ", "Xyz ", "ksh"]
        ),
        st.integers(min_value=0, max_value=10**9),
        st.integers(min_value=0, max_value=2),
        st.sampled_from(["", ".5", ".50", ".500", ".05", ",5"]),
    ),
)


@settings(max_examples=3000, deadline=None)
@given(amount_text)
def test_plain_amount_agrees_with_the_full_parser(text: str) -> None:
    plain = values.plain_amount(text)
    if plain is not None:
        assert plain == _general(text), text
        assert plain[0].as_tuple() == values.parse_amount_fully(text)[0].as_tuple()  # type: ignore[index]
        assert values.parse_amount(text) == plain


def test_plain_amount_reads_the_usual_shapes() -> None:
    """The shapes of the benchmark's Balance column take the shortcut."""
    assert values.plain_amount("KSh 1,500") == (Decimal(1500), "KES")
    assert values.plain_amount("1 500") == (Decimal(1500), None)
    assert values.plain_amount("1500.00") == (Decimal("1500.00"), None)
    assert values.plain_amount("1,234,567.5") == (Decimal("1234567.5"), None)
    assert values.plain_amount("0") == (Decimal(0), None)
    # Ambiguous or unusual: left to the full parser.
    for text in ("1.500", "0,500", "-500", "(500)", "1,5", "Xyz 5", " 5", "5 KSh"):
        assert values.plain_amount(text) is None, text


def _clean(name: str, column: list[object], region: str = "KE") -> tuple[list, list]:
    problems = v.Problems(list(range(len(column))))
    spec = CUSTOMERS.field(name)
    out = list(
        map(
            v.cleaner(spec, v.CleanContext(region), problems),
            column,
            range(len(column)),
        )
    )
    return out, problems.found


def _clean_fully(
    name: str, column: list[object], region: str = "KE"
) -> tuple[list, list]:
    problems = v.Problems(list(range(len(column))))
    spec = CUSTOMERS.field(name)
    clean = v.cleaner_slow(spec, v.CleanContext(region), problems)
    return list(map(clean, column, range(len(column)))), problems.found


phone_cell = st.one_of(
    st.text(alphabet="0123456789 +-.()'=eE", max_size=18),
    st.builds(
        lambda pre, nsn, sep: pre + sep.join([nsn[:3], nsn[3:6], nsn[6:]]),
        st.sampled_from(["", "0", "+254", "254", "+254 ", "00254", "+255", "0 "]),
        st.from_regex(r"[0-9]{9}", fullmatch=True),
        st.sampled_from(["", " ", "-", ".", "  "]),
    ),
    st.integers(min_value=0, max_value=10**12),
    st.floats(min_value=1, max_value=1e12),
    st.none(),
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(phone_cell, max_size=8), st.sampled_from(["KE", "TZ", "NG", "ZA"]))
def test_phone_column_cleaner_agrees_with_the_full_path(
    column: list[object], region: str
) -> None:
    assert _clean("phone", column, region) == _clean_fully("phone", column, region)


@settings(max_examples=1000, deadline=None)
@given(st.lists(amount_text | st.integers(-(10**6), 10**6) | st.none(), max_size=8))
def test_money_column_and_minor_units_agree_with_the_full_path(
    column: list[object],
) -> None:
    fast, fast_problems = _clean("balance", column)
    full, full_problems = _clean_fully("balance", column)
    assert fast == full
    assert fast_problems == full_problems
    for currency in ("KES", "UGX", "KWD"):
        currencies = [currency] * len(fast)
        problems = v.Problems(list(range(len(fast))))
        minor = v.money_to_minor(fast, currencies, problems, "balance")
        for item, got in zip(fast, minor, strict=True):
            if item is None:
                assert got is None
                continue
            try:
                expected: int | None = values.to_minor_units(Decimal(item[0]), currency)
            except values.Bad:
                expected = None
            assert got == expected


def test_minor_units_per_currency() -> None:
    problems = v.Problems([0, 1, 2])
    amounts = [(Decimal("1500.5"), None), (Decimal("1500.5"), None), None]
    assert v.money_to_minor(amounts, ["KES", "UGX", "KES"], problems, "balance") == [
        150050,
        1500,  # half to even
        None,
    ]
    assert problems.found == []
