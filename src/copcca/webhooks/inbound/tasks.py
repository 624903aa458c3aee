"""The job that processes stored webhook events of one integration."""

from __future__ import annotations

import uuid

from copcca.jobs.queue import huey


@huey.task(name="copcca.webhooks.process")
def process_inbox_job(company_id: str, integration_id: str) -> None:
    """Process pending events in batches until none is left (or only ones
    waiting for a retry time remain)."""
    from copcca.runtime import get_runtime
    from copcca.webhooks.inbound.pacing import yield_to_callbacks
    from copcca.webhooks.inbound.processing import process_pending

    runtime = get_runtime()
    while True:
        yield_to_callbacks()  # answering callbacks in time comes first
        done = process_pending(
            runtime.db,
            runtime.vault,
            runtime.settings,
            uuid.UUID(company_id),
            uuid.UUID(integration_id),
        )
        if done is None or not (done.processed or done.failed):
            return
