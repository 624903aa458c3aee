"""The fast phone path agrees with copcca.crm.phones.normalise_phone on
every input (hypothesis), so a million-row import stores the same numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copcca.crm.phones import normalise_phone
from copcca.imports.phones import PhoneNormaliser

REGIONS = ["KE", "TZ", "UG", "RW", "NG", "GH", "ZA", "CI", "SN", "CM"]
CODES = {
    "KE": "254",
    "TZ": "255",
    "UG": "256",
    "RW": "250",
    "NG": "234",
    "GH": "233",
    "ZA": "27",
    "CI": "225",
    "SN": "221",
    "CM": "237",
}
NORMALISERS = {r: PhoneNormaliser(r) for r in REGIONS}

digits = st.text(alphabet="0123456789", min_size=1, max_size=14)
separator = st.sampled_from(["", " ", "-", ".", "  ", "(", ")", "- ", "/"])


@st.composite
def written_phone(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(REGIONS))
    body = draw(digits)
    prefix = draw(
        st.sampled_from(
            [
                "",
                "0",
                "+",
                "00",
                "+" + CODES[region],
                CODES[region],
                "00" + CODES[region],
                "+1",
                "+44",
            ]
        )
    )
    pieces = [prefix]
    for ch in body:
        if draw(st.booleans()) and len(pieces) < 6:
            pieces.append(draw(separator))
        pieces.append(ch)
    text = "".join(pieces)
    if draw(st.booleans()):
        text = (
            draw(st.sampled_from([" ", ""])) + text + draw(st.sampled_from([" ", ""]))
        )
    return region, text


@settings(max_examples=3000, deadline=None)
@given(written_phone())
def test_fast_path_agrees_with_phonenumbers(case: tuple[str, str]) -> None:
    region, text = case
    assert NORMALISERS[region](text) == normalise_phone(text, region)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(REGIONS), st.text(max_size=20))
def test_any_text_agrees(region: str, text: str) -> None:
    assert NORMALISERS[region](text) == normalise_phone(text, region)


@pytest.mark.parametrize("region", ["KE", "TZ", "UG"])
def test_every_mobile_prefix_agrees(region: str) -> None:
    """Each 3-digit prefix, in each common spelling, of a 9-digit number."""
    fast = PhoneNormaliser(region)
    code = CODES[region]
    for prefix in range(100, 1000):
        nsn = f"{prefix}456789"
        for text in (
            nsn,
            "0" + nsn,
            "+" + code + nsn,
            code + nsn,
            f"0{nsn[:3]} {nsn[3:]}",
        ):
            assert fast(text) == normalise_phone(text, region), text


def test_fast_path_is_taken_for_common_kenyan_spellings() -> None:
    fast = PhoneNormaliser("KE")
    for text in ("0712 345 678", "712345678", "+254 712-345-678", "254712345678"):
        assert fast.fast(text) == "+254712345678"
