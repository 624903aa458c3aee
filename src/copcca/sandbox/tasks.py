"""Demo-mode jobs: the sandbox Shopify store keeps taking orders."""

from __future__ import annotations

from huey import crontab

from copcca.jobs.queue import huey
from copcca.sandbox.mount import demo_enabled


@huey.periodic_task(crontab(minute="*"), name="copcca.sandbox.demo_tick")
def demo_tick() -> None:
    """Every minute in demo mode: a new order in the sandbox store."""
    from copcca.runtime import get_runtime
    from copcca.sandbox import demo

    runtime = get_runtime()
    if demo_enabled(runtime.settings):
        demo.tick(runtime)
