"""Upsert one batch of mapped records (a sync page or a webhook batch) and
count what happened, honestly, for the sync log.

One bad record never blocks the batch: mapping errors are caught per
record before the transaction; upserts first run as one fast batch and, if
anything in it fails, the batch is redone with a savepoint per record so
only the bad one is left out, with a sample kept for the log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from copcca.crm.ingest import Ingestor, Outcome

log = logging.getLogger("copcca.sync")

MAX_SAMPLES = 20
EXCERPT_CHARS = 300
DEFAULT_FIX = (
    "We skipped this record and brought in the rest. If it matters, correct it "
    "in the other system; it comes in with the next sync. Or choose Skip record."
)


def entity_of(record: Any) -> str:
    """``CustomerRecord`` -> ``customers``: the CRM records a record fills."""
    name = type(record).__name__.removesuffix("Record").lower()
    return name if name.endswith("s") else name + "s"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # chosen by the shop owner, or ignored as stale
    failed: int = 0

    def add(self, other: Counts) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def count(self, outcome: Outcome) -> None:
        if outcome is Outcome.CREATED:
            self.created += 1
        elif outcome is Outcome.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped + self.failed

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Counts:
        data = data or {}
        return cls(**{k: int(data.get(k, 0)) for k in asdict(cls())})


@dataclass
class Item:
    """One provider record (or webhook event) and the CRM records it maps to."""

    key: str
    label: str
    records: list[Any]
    raw: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the inbox id


@dataclass
class Batch:
    """What one page or webhook batch did: counts per CRM entity, the
    records read, and samples of what failed."""

    read: Counts = field(default_factory=Counts)  # per provider record
    entities: dict[str, Counts] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def entity(self, name: str) -> Counts:
        return self.entities.setdefault(name, Counts())

    def add(self, other: Batch) -> None:
        self.read.add(other.read)
        for name, counts in other.entities.items():
            self.entity(name).add(counts)
        room = MAX_SAMPLES - len(self.samples)
        self.samples.extend(other.samples[: max(0, room)])

    def log_counts(self) -> dict[str, int]:
        """The sync log's columns, in CRM records: new, changed, left as they
        were (or skipped on purpose), and provider records that failed."""
        made = Counts()
        for counts in self.entities.values():
            made.add(counts)
        return {
            "created": made.created,
            "updated": made.updated,
            "skipped": made.unchanged + self.read.skipped,
            "failed": self.read.failed,
        }

    def fail(
        self,
        *,
        stream: str,
        key: str,
        label: str,
        message: str,
        fix: str | None = None,
        raw: Any = None,
        count: bool = True,
        **extra: Any,
    ) -> None:
        """Count one failed record and keep a sample the shop owner can read."""
        if count:
            self.read.failed += 1
        log.warning("skipped %s record %s: %s", stream, key or "?", message)
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(
                {
                    "stream": stream,
                    "key": key,
                    "record": label,
                    "message": message,
                    "fix": fix or DEFAULT_FIX,
                    "excerpt": excerpt(raw),
                    **extra,
                }
            )


def excerpt(raw: Any) -> str:
    if raw is None:
        return ""
    try:
        text = json.dumps(raw, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(raw)
    return text[:EXCERPT_CHARS]


class FastPathFailed(Exception):
    """The batch failed as a whole; redo it record by record."""


def upsert_fast(ingest: Ingestor, items: list[Item], batch: Batch) -> None:
    """All items in the caller's transaction; any error fails the batch."""
    try:
        for item in items:
            _upsert(ingest, item, batch)
        ingest.session.flush()
    except Exception as exc:
        raise FastPathFailed(type(exc).__name__) from exc


def upsert_safely(
    session: Session, ingest: Ingestor, items: list[Item], batch: Batch, stream: str
) -> None:
    """Each item in its own savepoint: a bad one is counted and left out."""
    for item in items:
        for attempt in (1, 2):
            trial = Batch()
            try:
                with session.begin_nested():
                    _upsert(ingest, item, trial)
            except IntegrityError as exc:
                # A concurrent writer may have just added the same record;
                # the second try finds it.
                if attempt == 2:
                    batch.fail(
                        stream=stream,
                        key=item.key,
                        label=item.label,
                        message="This record clashes with one already in your CRM.",
                        raw=item.raw,
                        **item.extra,
                    )
                    log.info("integrity error: %s", type(exc.orig).__name__)
                continue
            except Exception as exc:
                batch.fail(
                    stream=stream,
                    key=item.key,
                    label=item.label,
                    message=f"This record could not be saved ({type(exc).__name__}).",
                    raw=item.raw,
                    **item.extra,
                )
                break
            batch.add(trial)
            break


def _upsert(ingest: Ingestor, item: Item, batch: Batch) -> None:
    outcomes = []
    for record in item.records:
        done = ingest.upsert(record)
        batch.entity(entity_of(record)).count(done.outcome)
        outcomes.append(done.outcome)
    # A provider record counts by its strongest outcome.
    if Outcome.CREATED in outcomes:
        batch.read.created += 1
    elif Outcome.UPDATED in outcomes:
        batch.read.updated += 1
    elif outcomes:
        batch.read.unchanged += 1
    else:
        batch.read.skipped += 1
