"""How capture cuts documents into chunks for the worker processes."""

from __future__ import annotations

from traceseal.epcis.pipeline import CHUNK_EVENTS, MIN_CHUNK_EVENTS, PARALLEL_FROM, chunk_size


def test_chunks_are_about_four_per_worker_within_bounds() -> None:
    assert chunk_size(10_000, 2) == 1_250  # eight chunks for two workers
    assert chunk_size(1_000, 2) == MIN_CHUNK_EVENTS  # four chunks, not eight tiny ones
    assert chunk_size(PARALLEL_FROM, 2) == MIN_CHUNK_EVENTS
    assert chunk_size(50_000, 2) == CHUNK_EVENTS  # the most a chunk holds
    assert chunk_size(10_001, 2) * 8 >= 10_001  # rounded up: never a ninth chunk of one


def test_a_document_at_the_threshold_makes_more_than_one_chunk() -> None:
    assert chunk_size(PARALLEL_FROM, 1) < PARALLEL_FROM
