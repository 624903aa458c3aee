"""Which column is which field: header synonyms (English, Swahili, French),
fuzzy header matching (rapidfuzz), and, for headers that say nothing
("Column 3"), the values themselves. Every suggestion carries a confidence
from 0 to 100; a mapping the company confirmed before wins outright.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rapidfuzz import fuzz, process

from copcca.crm.ingest import clean_email
from copcca.crm.phones import normalise_phone
from copcca.imports import values
from copcca.imports.targets import Field, Kind, Target

FUZZY_CUTOFF = 80  # fuzzy header matches below this are noise
VALUE_CUTOFF = 40  # value-based guesses below this are not offered
GENERIC = re.compile(
    r"^(column|col|field|unnamed|safu|colonne)\s*:?\s*\d*$|^[a-z]?\d*$"
)


@dataclass
class Suggestion:
    index: int
    header: str
    field: str | None
    confidence: int
    how: str  # synonym | fuzzy | values | remembered | chosen | none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalise(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: 'Téléphone' -> 'telephone'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.sub(r"[^a-z0-9]+", " ", plain.lower())
    return words.strip()


def signature(headers: Sequence[str]) -> str:
    """A stable key for a header layout: the same columns, the same key."""
    joined = "\x1f".join(normalise(h) for h in headers)
    return hashlib.sha256(joined.encode()).hexdigest()[:64]


def header_score(target: Target, header: str) -> tuple[str | None, int]:
    """The best field for a header, and how sure we are."""
    key = normalise(header)
    if not key or GENERIC.match(key):
        return None, 0
    index = _synonym_index(target)
    if key in index:
        return index[key], 100
    choices = list(index)
    found = process.extractOne(
        key, choices, scorer=fuzz.WRatio, score_cutoff=FUZZY_CUTOFF
    )
    if found is None:
        return None, 0
    choice, score, _ = found
    # Fuzzy matches of very short headers are mostly noise.
    if len(key) <= 3 and score < 95:
        return None, 0
    return index[choice], int(min(score, 95))


_INDEXES: dict[str, dict[str, str]] = {}


def _synonym_index(target: Target) -> dict[str, str]:
    cached = _INDEXES.get(target.key)
    if cached is not None and len(cached) >= len(target.fields):
        return cached
    index: dict[str, str] = {}
    for f in target.fields:
        for word in (f.name.replace("_", " "), f.label, *f.synonyms):
            index.setdefault(normalise(word), f.name)
    _INDEXES[target.key] = index
    return index


def sniff_kind(samples: Sequence[Any], region: str) -> tuple[Kind | None, float]:
    """What a column's values look like, and the share that do."""
    cells = [c for c in samples if c not in (None, "")]
    if not cells:
        return None, 0.0
    tests: list[tuple[Kind, Any]] = [
        (Kind.EMAIL, lambda c: clean_email(values.as_text(c)) is not None),
        (Kind.PHONE, lambda c: _is_phone(c, region)),
        (Kind.DATE, _is_date),
        (Kind.MONEY, _is_money),
        (Kind.TEXT, lambda c: isinstance(c, str) and any(ch.isalpha() for ch in c)),
    ]
    for kind, test in tests:
        share = sum(1 for c in cells if _safe(test, c)) / len(cells)
        if share >= 0.6:
            return kind, share
    return None, 0.0


def _safe(test: Any, cell: Any) -> bool:
    try:
        return bool(test(cell))
    except (values.Bad, ValueError, ArithmeticError):
        return False


def _is_phone(cell: Any, region: str) -> bool:
    text = values.phone_text(cell)
    digits = sum(ch.isdigit() for ch in text)
    return 7 <= digits <= 15 and normalise_phone(text, region) is not None


def _is_date(cell: Any) -> bool:
    if isinstance(cell, str):
        return values.parse_date(cell) is not None and any(
            sep in cell for sep in "/-. "
        )
    return not isinstance(cell, int | float | bool) and bool(values.parse_date(cell))


def _is_money(cell: Any) -> bool:
    parsed = values.parse_amount(cell)
    return not isinstance(parsed, values.Repaired)


# Which field a sniffed kind suggests, per target.
VALUE_FIELDS = {
    Kind.PHONE: ("phone", "customer_phone", "payer_phone"),
    Kind.EMAIL: ("email", "customer_email"),
    Kind.DATE: ("counted_at", "observed_at", "sold_at", "issued_at", "paid_at"),
    Kind.MONEY: ("balance", "price", "counted", "stock", "total", "amount"),
    Kind.TEXT: ("name", "product", "competitor", "customer", "payer_name"),
}


def suggest(
    target: Target,
    headers: Sequence[str],
    samples: Sequence[Sequence[Any]],
    region: str,
    remembered: dict[str, str] | None = None,
) -> list[Suggestion]:
    """One suggestion per column; each field is used at most once."""
    remembered = remembered or {}
    candidates: list[tuple[int, int, str, str]] = []  # (confidence, index, field, how)
    for i, header in enumerate(headers):
        field = remembered.get(header)
        if field is not None and field in target.names:
            candidates.append((101, i, field, "remembered"))
            continue
        if header in remembered:  # remembered as "not imported"
            continue
        field, score = header_score(target, header)
        if field:
            candidates.append((score, i, field, "synonym" if score == 100 else "fuzzy"))
        column = [row[i] if i < len(row) else None for row in samples]
        kind, share = sniff_kind(column, region)
        for name in VALUE_FIELDS.get(kind, ()) if kind else ():
            if kind and name in target.names and _kind_fits(target.field(name), kind):
                confidence = int(share * (80 if field is None else 50))
                candidates.append((confidence, i, name, "values"))
    chosen: dict[int, Suggestion] = {}
    used: set[str] = set()
    for confidence, i, field, how in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if i in chosen or field in used or confidence < VALUE_CUTOFF:
            continue
        chosen[i] = Suggestion(i, headers[i], field, min(confidence, 100), how)
        used.add(field)
    return [
        chosen.get(i) or Suggestion(i, h, None, 0, "none")
        for i, h in enumerate(headers)
    ]


def _kind_fits(field: Field, kind: Kind) -> bool:
    if kind is Kind.MONEY:
        return field.kind in (Kind.MONEY, Kind.INT)
    return field.kind == kind or (kind is Kind.TEXT and field.kind is Kind.TEXT)


def as_field_map(suggestions: Sequence[Suggestion]) -> dict[str, int]:
    """field -> column index, for the pipeline."""
    return {s.field: s.index for s in suggestions if s.field}
