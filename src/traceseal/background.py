"""Periodic work in a daemon thread: WAL checkpoints, publishing log checkpoints."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("traceseal.background")


class Periodic:
    """Calls ``task`` every ``interval`` seconds until stopped.

    A failing call is logged and tried again at the next tick: background work must never
    take the server down, and everything it does is safe to repeat.
    """

    def __init__(self, name: str, interval: float, task: Callable[[], object]) -> None:
        self.name = name
        self._interval = interval
        self._task = task
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

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._task()
            except Exception:
                log.warning(
                    "%s failed; trying again in %s s", self.name, self._interval, exc_info=True
                )
