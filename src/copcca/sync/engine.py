"""The sync engine (design.md §7).

A run reads each chosen stream page by page from the cursor saved in
``sync_state``; maps each raw record with ``stream.map`` (pure, before any
transaction); then, in ONE transaction per page, renews its lease, upserts
the records with ``Ingestor.upsert``, saves the page's cursor and the log's
progress (J2). A crash anywhere loses at most the page in flight, which is
read again from the saved cursor (J1); re-reading a page changes nothing
(J3). One bad record is counted and sampled, never blocking its page.

Failures, by their typed kind (``copcca.connectors.errors``):

- auth (or unreadable stored secrets): "needs reconnect", no retry;
- rate limited / transient / anything unexpected: the run waits with capped
  exponential backoff and jitter and resumes from its cursors (J4); after
  ``sync_max_attempts`` it ends failed, visible, with a Retry action (J5);
- request: that stream fails, the others go on (the run is partial).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.orm import Session

from copcca.config import Settings
from copcca.connectors.base import Connector, ConnectorContext, Stream
from copcca.connectors.errors import (
    AuthError,
    DataError,
    ProviderError,
    RequestError,
)
from copcca.connectors.http import RetryPolicy
from copcca.connectors.registry import get_provider
from copcca.crm.ingest import Ingestor
from copcca.db import wal
from copcca.db.base import utcnow
from copcca.db.session import Database, bulk_mode
from copcca.errors import NotFound, VaultError
from copcca.jobs.collector import bulk_work
from copcca.models.integrations import Integration, SyncLog, SyncStatus
from copcca.models.sync import RunStatus, SyncRun
from copcca.models.tenancy import Company
from copcca.security.vault import Vault
from copcca.sync import outcome, runs
from copcca.sync.batch import (
    Batch,
    Counts,
    FastPathFailed,
    Item,
    upsert_fast,
    upsert_safely,
)
from copcca.sync.context import connector_for, open_context
from copcca.sync.faults import fault
from copcca.sync.logs import fail_log, finish_log
from copcca.sync.repository import SyncSkipRepository, SyncStateRepository

log = logging.getLogger("copcca.sync")

UNEXPECTED_FIX = "Press Retry. If it fails again, contact support with this log."


@dataclass(frozen=True)
class Stop:
    """Why a run stopped early, in plain words."""

    message: str
    fix: str | None
    kind: str


@dataclass(frozen=True)
class PageWork:
    """One mapped page, ready to commit with its cursor."""

    stream: str
    number: int
    cursor: dict[str, Any]
    items: list[Item]
    mapped: Batch  # what mapping already counted (failures, skips)


def execute_run(
    db: Database,
    vault: Vault,
    settings: Settings,
    company_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    transport: httpx.BaseTransport | None = None,
    worker: str | None = None,
) -> RunStatus | None:
    """Claim and run one sync; ``None`` when there was nothing to claim."""
    lease = timedelta(seconds=settings.sync_lease_seconds)
    claim = runs.claim(
        db, company_id, run_id, worker=worker or runs.worker_id(), lease=lease
    )
    if claim is None:
        return None
    return SyncJob(db, vault, settings, claim, lease, transport).run()


class SyncJob:
    """One attempt at one claimed run."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        settings: Settings,
        claim: runs.Claim,
        lease: timedelta,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.db = db
        self.vault = vault
        self.settings = settings
        self.claim = claim
        self.lease = lease
        self.transport = transport
        self.cid = claim.company_id
        self.streams: dict[str, Batch] = {}
        self.failed_streams: list[str] = []
        self.throttled = 0
        self.name = "the system"

    # the run ---------------------------------------------------------------
    def run(self) -> RunStatus | None:
        try:
            with bulk_work():
                return self._run()
        except runs.LostClaim:
            # Another worker owns the run now (or the connection was
            # removed); whatever we had not committed is rolled back.
            log.warning("sync %s was taken over or removed", self.claim.run_id)
            return None

    def _run(self) -> RunStatus | None:
        try:
            integration, company = self._prepare()
            self.name = get_provider(integration.provider).name
            connector = connector_for(integration.provider)
            with open_context(
                self.db, self.vault, integration, company, transport=self.transport
            ) as ctx:
                try:
                    for stream in self._chosen(connector, ctx, integration):
                        self._stream(ctx, stream, integration, company)
                finally:
                    self.throttled = ctx.traffic.throttled
        except runs.LostClaim:
            raise
        except (AuthError, VaultError) as exc:
            return self._reconnect(exc)
        except NotFound as exc:
            return self._fail(Stop(exc.message, exc.fix, "unavailable"))
        except Exception as exc:  # retryable, or unexpected: J4 then J5
            return self._retry_or_fail(exc)
        return self._complete()

    def _prepare(self) -> tuple[Integration, Company]:
        with self.db.transaction(self.cid) as session:
            integration = session.get(Integration, self.claim.integration_id)
            company = session.get(Company, self.cid)
            if integration is None or company is None:
                raise NotFound("This connection was removed.")
            run = runs.owned(session, self.claim)
            if run.full_resync:
                # Once per run: a resumed attempt must keep its cursors (J1).
                SyncStateRepository(session, self.cid).reset(integration.id)
                run.full_resync = False
            found = session.get(SyncLog, self.claim.log_id)
            if found is not None:
                self._resume_tallies(found)
            return integration, company

    def _resume_tallies(self, sync_log: SyncLog) -> None:
        """Counts committed by earlier attempts of this run carry on."""
        for name, data in (sync_log.details.get("streams") or {}).items():
            batch = Batch(read=Counts.of(data.get("read")))
            for entity, counts in (data.get("entities") or {}).items():
                batch.entities[entity] = Counts.of(counts)
            self.streams[name] = batch
        samples = list(sync_log.errors or [])
        if samples:
            first = next(iter(self.streams.values()), None)
            if first is not None:
                first.samples = samples

    def _chosen(
        self, connector: Connector, ctx: ConnectorContext, integration: Integration
    ) -> list[Stream]:
        wanted = set(integration.streams)
        return [s for s in connector.streams(ctx) if s.info.entity in wanted]

    # one stream -------------------------------------------------------------
    def _stream(
        self,
        ctx: ConnectorContext,
        stream: Stream,
        integration: Integration,
        company: Company,
    ) -> None:
        name = stream.info.name
        self.streams.setdefault(name, Batch())
        with self.db.transaction(self.cid, write=False) as session:
            cursor = SyncStateRepository(session, self.cid).cursor(integration.id, name)
            skips = SyncSkipRepository(session, self.cid).keys(integration.id, name)
        try:
            for number, page in enumerate(stream.pages(ctx, cursor), start=1):
                mapped, items = self._map(ctx, stream, page.records, skips)
                fault("before_upsert", name, number)
                work = PageWork(name, number, page.cursor, items, mapped)
                self._commit(work, integration, company)
                fault("after_commit", name, number)
                if page.done:
                    break
        except (RequestError, DataError) as exc:
            # This stream fails; the others still sync.
            self.failed_streams.append(name)
            self.streams[name].fail(
                stream=name,
                key="",
                label=name.capitalize(),
                message=exc.message,
                fix=exc.fix,
                count=False,  # a stream failed, not a record
            )

    def _map(
        self,
        ctx: ConnectorContext,
        stream: Stream,
        records: list[dict[str, Any]],
        skips: set[str],
    ) -> tuple[Batch, list[Item]]:
        name, pk = stream.info.name, stream.info.primary_key
        batch, items = Batch(), []
        for raw in records:
            key = str(raw.get(pk, "")) if isinstance(raw, dict) else ""
            label = f"{name.capitalize()} {key}".strip()
            if key and key in skips:
                batch.read.skipped += 1
                continue
            try:
                mapped = stream.map(ctx, raw)
            except DataError as exc:
                batch.fail(
                    stream=name,
                    key=key,
                    label=exc.record or label,
                    message=exc.message,
                    fix=exc.fix,
                    raw=raw,
                )
                continue
            except Exception as exc:
                batch.fail(
                    stream=name,
                    key=key,
                    label=label,
                    message=f"This record could not be read ({type(exc).__name__}).",
                    raw=raw,
                )
                continue
            items.append(Item(key, label, list(mapped), raw=raw))
        return batch, items

    def _commit(
        self, page: PageWork, integration: Integration, company: Company
    ) -> None:
        """Records, cursor and progress in one transaction (J2); a batch that
        fails as a whole is redone record by record."""
        try:
            batch = self._write(page, integration, company, fast=True)
        except FastPathFailed:
            batch = self._write(page, integration, company, fast=False)
        self.streams[page.stream].add(batch)

    def _write(
        self, page: PageWork, integration: Integration, company: Company, *, fast: bool
    ) -> Batch:
        batch = Batch()
        batch.add(page.mapped)
        checkpoints = wal.checkpointer(self.db)
        with self.db.transaction(self.cid) as session:
            runs.keep(session, self.claim, self.lease)
            bulk_mode(session)
            if checkpoints is not None:
                wal.hold_checkpoints(session)  # the checkpointer's thread does them
            ingest = Ingestor(
                session, company, integration.id, source=integration.provider
            )
            if fast:
                upsert_fast(ingest, page.items, batch)
            else:
                upsert_safely(session, ingest, page.items, batch, page.stream)
            fault("after_upsert", page.stream, page.number)
            SyncStateRepository(session, self.cid).save(
                integration.id, page.stream, page.cursor
            )
            self._progress(session, page.stream, batch)
        if checkpoints is not None:
            checkpoints.wrote()
        return batch

    def _progress(self, session: Any, current: str, page: Batch) -> None:
        sync_log = session.get(SyncLog, self.claim.log_id)
        if sync_log is None:
            return
        streams = {k: v for k, v in self.streams.items()}
        preview = Batch()
        preview.add(streams.get(current, Batch()))
        preview.add(page)
        streams[current] = preview
        self._fill(sync_log, streams)
        sync_log.message = f"Syncing {current}… {preview.read.total} read so far."

    def _fill(self, sync_log: SyncLog, streams: dict[str, Batch]) -> None:
        total = Batch()
        for batch in streams.values():
            total.add(batch)
        counts = total.log_counts()
        sync_log.created_count = counts["created"]
        sync_log.updated_count = counts["updated"]
        sync_log.skipped_count = counts["skipped"]
        sync_log.failed_count = counts["failed"]
        sync_log.errors = list(total.samples)
        sync_log.details = {
            **(sync_log.details or {}),
            "streams": {
                name: {
                    "read": b.read.as_dict(),
                    "entities": {e: c.as_dict() for e, c in b.entities.items()},
                }
                for name, b in streams.items()
            },
            "failed_streams": list(self.failed_streams),
            "throttled": self.throttled,
        }

    # endings ------------------------------------------------------------------
    @contextmanager
    def _closing(
        self,
    ) -> Iterator[tuple[Session, SyncRun, Integration | None, SyncLog | None]]:
        """The run (still ours), its connection and its log, with the final
        tallies filled in, in one transaction."""
        with self.db.transaction(self.cid) as session:
            run = runs.owned(session, self.claim)
            integration = session.get(Integration, self.claim.integration_id)
            sync_log = session.get(SyncLog, self.claim.log_id)
            if sync_log is not None:
                self._fill(sync_log, self.streams)
            yield session, run, integration, sync_log

    def _complete(self) -> RunStatus:
        total = Batch()
        for batch in self.streams.values():
            total.add(batch)
        failed_records = total.read.failed
        chosen = len(self.streams)
        if chosen and len(self.failed_streams) == chosen:
            first = next(iter(self.streams.values())).samples
            cause = first[0]["message"] if first else "No data could be read."
            return self._fail(
                Stop(cause, first[0].get("fix") if first else None, "request")
            )
        partial = bool(failed_records or self.failed_streams)
        status = RunStatus.PARTIAL if partial else RunStatus.SUCCEEDED
        with self._closing() as (session, run, integration, sync_log):
            if sync_log is not None:
                finish_log(
                    sync_log,
                    status=SyncStatus.PARTIAL if partial else SyncStatus.SUCCESS,
                    message=outcome.describe(self.streams),
                    errors=sync_log.errors,
                    fix=(
                        "Open the problems below: each says what to change."
                        if partial
                        else None
                    ),
                    error_kind="data" if partial else None,
                    **total.log_counts(),
                )
            runs.finish(session, run, status, None)
            if integration is not None:
                outcome.mark_finished(
                    session,
                    integration,
                    failed_records=failed_records,
                    failed_streams=self.failed_streams,
                    throttled=self.throttled,
                    name=self.name,
                )
        return status

    def _reconnect(self, exc: Exception) -> RunStatus:
        if isinstance(exc, ProviderError):
            stop = Stop(exc.message, exc.fix, "auth")
        else:
            stop = Stop(
                f"The stored credentials for {self.name} cannot be opened.",
                f"Reconnect {self.name}: enter the credentials again.",
                "auth",
            )
        return self._end(RunStatus.FAILED, stop, reconnect=True)

    def _fail(self, stop: Stop) -> RunStatus:
        return self._end(RunStatus.FAILED, stop, reconnect=False)

    def _end(self, status: RunStatus, stop: Stop, *, reconnect: bool) -> RunStatus:
        with self._closing() as (session, run, integration, sync_log):
            if sync_log is not None:
                fail_log(
                    sync_log, message=stop.message, fix=stop.fix, error_kind=stop.kind
                )
            runs.finish(session, run, status, stop.message)
            if integration is not None:
                reason = f"{stop.message} {stop.fix or ''}".strip()
                if reconnect:
                    outcome.mark_needs_reconnect(session, integration, reason)
                else:
                    outcome.mark_failed(session, integration, reason)
        return status

    def _retry_or_fail(self, exc: Exception) -> RunStatus:
        stop = self._stop_for(exc)
        attempt, most = self.claim.attempt, self.settings.sync_max_attempts
        if attempt >= most:
            return self._fail(
                Stop(
                    f"{stop.message} We tried {attempt} times, then stopped.",
                    f"{stop.fix} Then press Retry." if stop.fix else UNEXPECTED_FIX,
                    stop.kind,
                )
            )
        wait = self._delay(exc, attempt)
        at = utcnow() + timedelta(seconds=wait)
        with self._closing() as (session, run, integration, sync_log):
            company = session.get(Company, self.cid)
            zone = ZoneInfo(company.timezone if company else "UTC")
            when = at.astimezone(zone).strftime("%H:%M")
            reason = (
                f"{stop.message} Trying again at {when} "
                f"(attempt {attempt + 1} of {most})."
            )
            runs.requeue(session, run, at, reason)
            if sync_log is not None:
                sync_log.message = reason
                sync_log.error_kind = stop.kind
                sync_log.fix = stop.fix
            if integration is not None:
                outcome.mark_retrying(integration, reason)
        log.info("sync %s retries in %.0f s: %s", self.claim.run_id, wait, stop.kind)
        return RunStatus.QUEUED

    def _stop_for(self, exc: Exception) -> Stop:
        if isinstance(exc, ProviderError):
            return Stop(exc.message, exc.fix, exc.kind)
        log.exception("sync %s failed unexpectedly", self.claim.run_id)
        return Stop(
            f"Something went wrong on our side while syncing ({type(exc).__name__}).",
            UNEXPECTED_FIX,
            "internal",
        )

    def _delay(self, exc: Exception, attempt: int) -> float:
        """Capped exponential backoff with jitter; a provider's Retry-After wins."""
        policy = RetryPolicy(
            base_delay=self.settings.sync_retry_base_seconds / 2,
            max_delay=self.settings.sync_retry_max_seconds,
        )
        cap = policy.cap(attempt)
        wait = cap / 2 + policy.jitter(0, cap / 2)
        if isinstance(exc, ProviderError) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        return wait
