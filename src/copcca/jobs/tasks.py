"""Import every module that defines jobs, so a worker knows them all."""

from __future__ import annotations

import importlib

JOB_MODULES = (
    "copcca.jobs.heartbeat",
    "copcca.sync.tasks",
    "copcca.webhooks.inbound.tasks",
    "copcca.sandbox.tasks",
    "copcca.imports.tasks",
    "copcca.payments.tasks",
)


def load_all() -> None:
    for name in JOB_MODULES:
        importlib.import_module(name)
