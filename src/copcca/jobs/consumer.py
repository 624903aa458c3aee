"""Running the Huey consumer: in its own process (``copcca worker``) or in
threads inside the web process (``copcca serve``)."""

from __future__ import annotations

from huey.consumer import Consumer

from copcca.jobs.queue import huey


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer that lives in threads beside the web server, which owns
    the main thread and its signals."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(workers: int = 2, *, periodic: bool = True) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(
        huey,
        workers=workers,
        periodic=periodic,
        worker_type="thread",
        check_worker_health=False,
        max_delay=2.0,
    )
    consumer.start()
    return consumer


def stop_embedded(consumer: EmbeddedConsumer) -> None:
    consumer.stop(graceful=True)


def run_worker(workers: int = 2, *, periodic: bool = True) -> None:
    """Block running jobs until SIGINT/SIGTERM."""
    consumer = huey.create_consumer(
        workers=workers, periodic=periodic, worker_type="thread", max_delay=2.0
    )
    consumer.run()
