"""One-click actions from a sync log: retry, skip a record.

- Retry a sync that failed: a new sync resumes from the saved cursors.
- Retry a partial sync: read everything again (a full resync), so records
  that failed are read once more; nothing is copied twice (J3).
- Retry a webhook batch: its failed events are processed again.
- Skip a record: a sync record goes on the connection's skip list (later
  syncs pass it over, counted as skipped); a webhook event is marked
  skipped and never retried. The sample in the log says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from copcca.errors import Conflict, InvalidInput
from copcca.integrations import service as integrations
from copcca.models.integrations import SyncLog, SyncStatus
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync import service as sync_service
from copcca.sync.logs import SyncLogRepository
from copcca.sync.repository import SyncSkipRepository
from copcca.webhooks.inbound import service as inbox


@dataclass(frozen=True)
class Retried:
    message: str
    run_id: uuid.UUID | None = None
    integration_id: uuid.UUID | None = None


def _log(session: Session, actor: Principal, log_id: uuid.UUID) -> SyncLog:
    log = SyncLogRepository(session, actor.company_id).get_or_404(log_id)
    if log.integration_id is None:
        raise Conflict(
            "This log has no connection to retry.",
            fix="Its system was disconnected; connect it again first.",
        )
    integrations.get_integration(session, actor, log.integration_id)
    return log


def can_retry(log: SyncLog) -> bool:
    return log.integration_id is not None and log.status in (
        SyncStatus.FAILED,
        SyncStatus.PARTIAL,
    )


def retry(session: Session, actor: Principal, log_id: uuid.UUID) -> Retried:
    """Run again what this log shows failed."""
    log = _log(session, actor, log_id)
    assert log.integration_id is not None
    if not can_retry(log):
        raise Conflict("Nothing in this run failed, so there is nothing to retry.")
    if log.kind == "webhook":
        ids = [
            uuid.UUID(e["inbox_id"])
            for e in log.errors
            if e.get("inbox_id") and not e.get("skipped")
        ]
        count = inbox.retry_events(session, actor.company_id, ids)
        return Retried(
            f"{count} events are being processed again.", None, log.integration_id
        )
    full = log.status == SyncStatus.PARTIAL
    req = sync_service.request_sync(
        session, actor, log.integration_id, trigger="retry", full_resync=full
    )
    message = (
        "Reading everything again, so the records that failed are tried once more."
        if full
        else "Retrying: the sync continues from where it stopped."
    )
    return Retried(message, req.run.id, log.integration_id)


def skip_record(
    session: Session, actor: Principal, log_id: uuid.UUID, index: int
) -> str:
    """Leave one failed record out for good; returns what was skipped."""
    log = _log(session, actor, log_id)
    assert log.integration_id is not None
    samples = [dict(e) for e in log.errors]
    if not 0 <= index < len(samples):
        raise InvalidInput("There is no such problem in this log.", field="index")
    sample = samples[index]
    label = str(sample.get("record") or sample.get("key") or "record")
    if sample.get("inbox_id"):
        inbox.skip_event(session, actor.company_id, uuid.UUID(sample["inbox_id"]))
    elif sample.get("key"):
        SyncSkipRepository(session, actor.company_id).skip(
            log.integration_id,
            str(sample.get("stream") or ""),
            str(sample["key"]),
            label=label,
            reason=str(sample.get("message") or ""),
            user_id=actor.user_id,
        )
    else:
        raise Conflict("This problem is about a whole stream, not one record.")
    sample["skipped"] = True
    log.errors = samples
    audit.record(
        session,
        actor,
        "sync.skip_record",
        f"Chose to skip {label} in future syncs.",
        target_type="integration",
        target_id=log.integration_id,
    )
    return label
