"""``bulk_work`` tunes the cycle collector for the length of a sync or an
import, however many run at once in the process, and puts it back."""

from __future__ import annotations

import gc
import threading

from copcca.jobs.collector import YOUNG_THRESHOLD, bulk_work


def test_objects_alive_before_are_frozen_and_young_collections_rarer() -> None:
    before = gc.get_threshold()
    with bulk_work():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (
            max(YOUNG_THRESHOLD, before[0]),
            before[1],
            before[2],
        )
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_nested_and_concurrent_work_restores_only_when_the_last_ends() -> None:
    before = gc.get_threshold()
    inside, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with bulk_work():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other_job)
    with bulk_work():
        worker.start()
        assert inside.wait(10)
        with bulk_work():
            pass
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD  # the nested one ended
    assert gc.get_threshold()[0] >= YOUNG_THRESHOLD  # the other job still runs
    release.set()
    worker.join(10)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cycles_made_during_the_work_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with bulk_work():
        gc.collect()
        Node()
        assert gc.collect() >= 1
