"""Phone numbers to E.164, using the company's region for local formats
(0712 345 678, 712345678, +254 712-345-678, 254712345678 all agree)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


def normalise_phone(raw: str | None, region: str = "KE") -> str | None:
    """E.164, or ``None`` when the text is not a possible phone number."""
    if raw is None:
        return None
    return _normalise(str(raw), region)


@lru_cache(maxsize=65536)  # parsing is slow and syncs see each number often
def _normalise(raw: str, region: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+") and len(digits) >= 11:
        # "254712345678": a country code written without the plus.
        candidate = _parse("+" + digits, region)
        if candidate:
            return candidate
    return _parse(text, region)


def _parse(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def display_phone(e164: str | None, region: str = "KE") -> str:
    """National format for the company's own country, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region_of = phonenumbers.region_code_for_number(number)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region_of == region.upper()
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, fmt))
