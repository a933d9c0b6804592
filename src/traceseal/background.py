"""Periodic work in a daemon thread: WAL checkpoints, publishing log checkpoints.

Work that must happen once for the whole platform (not once per process) is given a
:class:`~traceseal.jobs.locking.JobLock`: then of every process serving the database only
one runs it per interval, and never two at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from traceseal.jobs.locking import JobLock

log = logging.getLogger("traceseal.background")


class Periodic:
    """Calls ``task`` every ``interval`` seconds until stopped.

    A failing call is logged and tried again at the next tick: background work must never
    take the server down, and everything it does is safe to repeat.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        task: Callable[[], object],
        *,
        once: JobLock | None = None,
    ) -> None:
        self.name = name
        self._interval = interval
        self._task = task
        #: Set for platform-wide work: run by one process per interval (jobs.locking).
        self.once = once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def tick(self) -> bool:
        """One run of the task, unless another process has this interval's (True: ran)."""
        if self.once is None:
            self._task()
            return True
        return self.once.run(self.name, self._interval, self._task, time.time())

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:
                log.warning(
                    "%s failed; trying again in %s s", self.name, self._interval, exc_info=True
                )
