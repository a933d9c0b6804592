"""Periodic background work keeps going after a failure and stops when told."""

from __future__ import annotations

import threading

from traceseal.background import Periodic


def test_a_failing_call_is_retried_and_stop_ends_the_thread() -> None:
    calls: list[int] = []
    done = threading.Event()

    def task() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database is busy")
        done.set()

    worker = Periodic("test", 0.01, task)
    worker.start()
    assert done.wait(timeout=5)
    worker.stop()
    assert len(calls) >= 2
    assert not any(t.name == "test" for t in threading.enumerate())
