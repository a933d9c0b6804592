"""How capture cuts documents into chunks for the worker processes, and holds off the
collector while it runs."""

from __future__ import annotations

import gc
import threading

import pytest

from traceseal.epcis.pipeline import (
    CHUNK_EVENTS,
    MIN_CHUNK_EVENTS,
    PARALLEL_FROM,
    chunk_size,
    collection_paused,
)


def test_chunks_are_about_eight_per_worker_within_bounds() -> None:
    assert chunk_size(10_000, 2) == 625  # sixteen chunks for two workers
    assert chunk_size(1_000, 2) == MIN_CHUNK_EVENTS  # four chunks, not sixteen tiny ones
    assert chunk_size(PARALLEL_FROM, 2) == MIN_CHUNK_EVENTS
    assert chunk_size(100_000, 2) == CHUNK_EVENTS  # the most a chunk holds
    assert chunk_size(10_001, 2) * 16 >= 10_001  # rounded up: never a 17th chunk of one


def test_a_document_at_the_threshold_makes_more_than_one_chunk() -> None:
    assert chunk_size(PARALLEL_FROM, 1) < PARALLEL_FROM


def test_the_collector_is_paused_until_the_last_capture_ends() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():  # a second capture under way at once
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first one is still running
    assert gc.isenabled()


def test_a_failed_capture_gives_the_collector_back() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("refused")
    assert gc.isenabled()


def test_captures_in_threads_leave_the_collector_on() -> None:
    barrier = threading.Barrier(4)

    def capture() -> None:
        with collection_paused():
            barrier.wait(timeout=10)

    threads = [threading.Thread(target=capture) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.isenabled()
