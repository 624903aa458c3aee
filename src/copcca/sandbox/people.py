"""Deterministic sandbox people and goods for the emulators: East African
names, phones written the many ways shop owners type them (and a few that
are not phones at all), and a small shop catalogue. Everything is a pure
function of an index and a seed, so a store of any size costs no memory."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

T0 = datetime(2025, 1, 1, tzinfo=UTC)  # seeded record i changes at T0 + i * step

FIRST = (
    "Amina", "Wanjiku", "Otieno", "Achieng", "Kamau", "Njeri", "Baraka", "Neema",
    "Juma", "Zawadi", "Mwangi", "Akinyi", "Halima", "Musa", "Rehema", "Kipchoge",
    "Nafula", "Wekesa", "Fatuma", "Chidi", "Ngozi", "Tunde", "Aisha", "Kato",
    "Nakato", "Okello", "Auma", "Salim", "Imani", "Jabari",
)  # fmt: skip
LAST = (
    "Wanjiru", "Odhiambo", "Mutua", "Kariuki", "Chebet", "Mohamed", "Hassan",
    "Mwakilema", "Nyirenda", "Okafor", "Adeyemi", "Ssempala", "Namusoke", "Kimaro",
    "Mushi", "Ochieng", "Njoroge", "Barasa", "Kiprono", "Omondi",
)  # fmt: skip
CITIES = ("Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Machakos")

# Goods and prices (KES, as decimal strings) of a small Nairobi shop.
GOODS = (
    ("Unga wa Ndovu 2kg", "Groceries", "215.00", ()),
    ("Kimbo 1kg", "Groceries", "389.00", ()),
    ("Ketepa Tea 250g", "Groceries", "175.50", ()),
    ("Kiondo basket", "Crafts", "1450.00", ("Small", "Large")),
    ("Kanga", "Clothing", "650.00", ("Red", "Blue", "Green")),
    ("Kikoi", "Clothing", "900.00", ("Striped", "Plain")),
    ("Maasai shuka", "Clothing", "1200.00", ()),
    ("Sufuria set", "Kitchen", "3299.00", ("3 pcs", "5 pcs")),
    ("Jiko stove", "Kitchen", "2750.00", ()),
    ("Solar lamp", "Electronics", "1899.99", ()),
    ("Phone charger", "Electronics", "499.00", ("USB-C", "Micro USB")),
    ("Sandals (akala)", "Shoes", "350.00", ("40", "42", "44")),
)  # fmt: skip


def money(value: Decimal) -> str:
    """A decimal amount as providers write it: ``"1450.00"``."""
    return f"{value.quantize(Decimal('0.01'))}"


def rng(seed: int, kind: str, index: int) -> random.Random:
    """A generator private to one record, stable across runs and processes."""
    return random.Random(f"{seed}:{kind}:{index}")


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    phone: str | None
    email: str | None
    city: str


def person(seed: int, index: int) -> Person:
    r = rng(seed, "person", index)
    first, last = r.choice(FIRST), r.choice(LAST)
    return Person(
        first=first,
        last=last,
        phone=phone_text(r, index),
        email=(f"{first}.{last}{index}@example.co.ke".lower() if index % 5 else None),
        city=r.choice(CITIES),
    )


def phone_text(r: random.Random, index: int) -> str | None:
    """A Kenyan mobile written one of the ways people write it, or junk."""
    digits = f"7{r.randrange(10, 99)}{r.randrange(100000, 999999)}"
    style = index % 11
    if style == 0:
        return None
    if style == 1:
        return "12345"  # not a phone
    return (
        f"0{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"+254 {digits[:3]}-{digits[3:6]}-{digits[6:]}",
        f"254{digits}",
        digits,
        f"+254{digits}",
        f"0{digits}",
        f"(0{digits[:3]}) {digits[3:]}",
        f"00254{digits}",
        f"0{digits[:3]}.{digits[3:6]}.{digits[6:]}",
    )[style - 2]
