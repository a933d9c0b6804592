"""jobs.locking: of several "processes" (each its own engine, so its own database sessions
and lock files), one runs a job per interval and never two at once, on both engines."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select

from traceseal.config import Settings
from traceseal.counters import RateWindow
from traceseal.db import make_engine
from traceseal.jobs.locking import JobLock, advisory_key, slot_of

INTERVAL = 0.2


def test_slots_and_keys() -> None:
    assert slot_of(10.05, 0.2) == slot_of(10.19, 0.2) == 10_000
    assert slot_of(10.2, 0.2) == 10_200
    assert advisory_key("webhooks") != advisory_key("sms")
    assert -(2**63) <= advisory_key("webhooks") < 2**63


def _contend(engines: list[Engine], seconds: float) -> tuple[list[tuple[int, int]], int, int]:
    """Each engine's JobLock ticks in its own threads, like four server processes with two
    threads each; returns the runs as (slot, runner), the most runs at once and the ticks."""
    runs: list[tuple[int, int]] = []
    running = [0, 0]  # now, most
    guard = threading.Lock()
    ticks = [0]
    stop = time.monotonic() + seconds

    def task(runner: int, slot: int) -> None:
        with guard:
            running[0] += 1
            running[1] = max(running)
            runs.append((slot, runner))
        time.sleep(0.03)  # a run long enough for others to tick meanwhile
        with guard:
            running[0] -= 1

    def process(runner: int, lock: JobLock) -> None:
        while time.monotonic() < stop:
            now = time.time()
            slot = slot_of(now, INTERVAL)
            lock.run("test-job", INTERVAL, lambda slot=slot: task(runner, slot), now)
            with guard:
                ticks[0] += 1
            time.sleep(0.01)

    threads = [
        threading.Thread(target=process, args=(i, JobLock(engine)))
        for i, engine in enumerate(engines)
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs, running[1], ticks[0]


def test_one_run_per_interval_and_never_two_at_once(migrated: Settings) -> None:
    engines = [make_engine(migrated.resolved_database_url) for _ in range(4)]
    try:
        runs, most_at_once, ticks = _contend(engines, 2.0)
        slots = [slot for slot, _ in runs]
        # Ticks every ~10 ms from 8 threads: hundreds of chances, one run per interval.
        assert ticks > 100
        assert len(slots) == len(set(slots)), "a slot ran twice"
        assert 5 <= len(slots) <= 2.0 / INTERVAL + 1
        assert most_at_once == 1
        # More than one "process" got its turn: the lock is not one process's own.
        assert len({runner for _, runner in runs}) > 1
        if engines[0].dialect.name == "postgresql":
            with engines[0].connect() as connection:
                kept = connection.scalars(
                    select(RateWindow.window_start).where(RateWindow.key == "job:test-job")
                ).all()
            assert sorted(kept) == sorted(slots)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_failing_run_frees_the_lock(migrated: Settings) -> None:
    engine = make_engine(migrated.resolved_database_url)
    try:
        lock = JobLock(engine)

        def broken() -> None:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            lock.run("test-fail", 1.0, broken, 100.0)
        ran: list[int] = []
        # The next interval runs (the lock was freed); the same interval does not run again.
        assert not lock.run("test-fail", 1.0, lambda: ran.append(1), 100.5)
        assert lock.run("test-fail", 1.0, lambda: ran.append(2), 101.0)
        assert ran == [2]
    finally:
        engine.dispose()
