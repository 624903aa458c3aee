"""Phone normalisation for millions of rows, agreeing exactly with
:func:`copcca.crm.phones.normalise_phone`.

``phonenumbers.parse`` costs about 20 µs. Most spreadsheet phones are one of
a few shapes of the company's own country (``0712 345 678``, ``712345678``,
``+254 712-345-678``, ``254712345678``); for those the national significant
number is cut out directly and checked against the same metadata patterns
``phonenumbers.is_valid_number`` uses. Only a *valid* fast answer is
returned; anything else (other countries, odd punctuation, numbers that do
not validate) goes to the real function, behind a bounded cache. The
agreement is tested with hypothesis (tests/imports/test_phones.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata

from copcca.crm.phones import normalise_phone

# Digits with single spaces, dashes, dots or brackets between them.
SHAPE = re.compile(r"\+?[ (]*[0-9]+(?:[ \-.()]{1,2}[0-9]+)*\)?")
SEPARATORS = str.maketrans("", "", " -.()")
CACHE_LIMIT = 200_000
# Descriptions phonenumbers checks, in its order, to call a number valid.
TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@dataclass(frozen=True)
class _Desc:
    pattern: re.Pattern[str]
    lengths: frozenset[int]

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _Region:
    code: str
    calling_code: str
    national_prefix: str | None
    general: _Desc
    # For each length, one pattern: the general description (as a
    # lookahead) and then any number type of that length.
    by_length: dict[int, re.Pattern[str]]

    def valid(self, nsn: str) -> bool:
        typed = self.by_length.get(len(nsn))
        return typed is not None and nsn[0] != "0" and typed.fullmatch(nsn) is not None


def _desc(desc: object) -> _Desc | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if desc is None or pattern is None:
        return None
    lengths = frozenset(getattr(desc, "possible_length", None) or ())
    return _Desc(re.compile(pattern), lengths)


def _region(code: str) -> _Region | None:
    meta = PhoneMetadata.metadata_for_region(code.upper())
    if meta is None or meta.general_desc is None:
        return None
    calling = str(meta.country_code)
    # Only country codes that belong to this one region (not +1, +7, +44 ...),
    # and a plain "0" national prefix or none: the shapes handled here.
    if len(phonenumbers.region_codes_for_country_code(int(calling))) != 1:
        return None
    prefix = meta.national_prefix_for_parsing
    if prefix not in (None, "0") or meta.national_prefix_transform_rule:
        return None
    general = _desc(meta.general_desc)
    if general is None:
        return None
    types = [d for d in (_desc(getattr(meta, n)) for n in TYPE_DESCS) if d]
    by_length: dict[int, re.Pattern[str]] = {}
    for length in general.lengths:
        alternatives = [
            t.pattern.pattern for t in types if not t.lengths or length in t.lengths
        ]
        if alternatives:
            typed = "|".join(f"(?:{a})" for a in alternatives)
            by_length[length] = re.compile(
                rf"(?=(?:{general.pattern.pattern})\Z)(?:{typed})"
            )
    return _Region(code.upper(), calling, meta.national_prefix, general, by_length)


class PhoneNormaliser:
    """``normalise_phone(raw, region)``, fast, for one region."""

    def __init__(self, region: str) -> None:
        self.region = region.upper()
        self._meta = _region(self.region)
        self._cache: dict[str, str | None] = {}

    def __call__(self, raw: str) -> str | None:
        hit = self._cache.get(raw, _MISS)
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        result = self.fast(raw)
        if result is None:
            result = normalise_phone(raw, self.region)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[raw] = result
        return result

    def fast(self, raw: str) -> str | None:
        """The E.164 number when the shortcut applies and validates, else None."""
        meta = self._meta
        if meta is None:
            return None
        text = raw.strip()
        if text[:2] == "00":
            text = "+" + text[2:]
        if SHAPE.fullmatch(text) is None:
            return None
        digits = text.translate(SEPARATORS)
        international = digits[0] == "+"
        if international:
            digits = digits[1:]
        cc = meta.calling_code
        if international or (len(digits) >= 11 and digits[0] != "0"):
            if not digits.startswith(cc):
                return None
            nsn = digits[len(cc) :]
        elif meta.national_prefix == "0" and digits.startswith("0"):
            nsn = digits[1:]
        else:
            nsn = digits
        if not meta.valid(nsn):
            return None
        return "+" + cc + nsn


_MISS = object()


def normaliser(region: str) -> Callable[[str], str | None]:
    return PhoneNormaliser(region)
