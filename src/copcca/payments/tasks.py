"""Payment jobs: one status check, and the sweep that finds due checks."""

from __future__ import annotations

import uuid

from huey import crontab

# Importing these registers the payment and invoice upserters (Ingestor).
from copcca.crm import invoices as _invoices  # noqa: F401
from copcca.crm import payments as _payments  # noqa: F401
from copcca.jobs.queue import huey
from copcca.payments import demo as _demo  # noqa: F401 (the demo payments job)
from copcca.payments import intake as _intake  # noqa: F401


@huey.task(name="copcca.payments.check_request")  # type: ignore[untyped-decorator]
def check_request_job(company_id: str, request_id: str) -> None:
    from copcca.payments.checks import check_request
    from copcca.runtime import get_runtime
    from copcca.webhooks.inbound.pacing import yield_to_callbacks

    yield_to_callbacks()
    check_request(get_runtime(), uuid.UUID(company_id), uuid.UUID(request_id))


@huey.periodic_task(crontab(minute="*"), name="copcca.payments.sweep")  # type: ignore[untyped-decorator]
def sweep_job() -> None:
    from copcca.payments.checks import sweep
    from copcca.runtime import get_runtime

    sweep(get_runtime())
