"""The worker process that writes one export job's file (started by codes/runner.py).

A process of its own, not a thread of the server: building labels is CPU-bound Python and C
calls that hold the GIL, and in the server's process they would stall every request on the
event loop. Here the operating system shares the cores, and the worker runs at a lower
priority (:data:`NICENESS`), so verification keeps its latency while an export runs.

The worker needs no database: the runner hands it the slot key and the run's range. It
stops between chunks (every :data:`~traceseal.codes.labels` progress step: 100 labels, or
one 65,536-code CSV chunk) when the runner asks or when the server's process is gone, and
removes its partial file whenever it does not finish. The finished file is renamed into
place before the runner is told, so a file under its final name is always whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from traceseal.codes import labels, render
from traceseal.codes.design import DEFAULT_PIN_DIGITS, Design
from traceseal.codes.export import iter_labels, write_csv
from traceseal.codes.sealcode import SlotCipher

__all__ = ["NICENESS", "Spec", "Stopped", "build", "main"]

log = logging.getLogger("traceseal.exports")

#: How much less CPU the worker gets than the server when both want it (nice(2) steps), as
#: for EPCIS capture workers: at 5 the scheduler weighs it a third of a request thread, so a
#: busy server keeps most of a contended core without starving the export. At 10 a
#: million-label export under bench/export_under_load.py's load took hours (docs/benchmarks.md).
NICENESS = 5


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything the worker needs, sent to it once (pickled, over a pipe)."""

    job_id: int
    fmt: str
    slot: int
    key: bytes
    first: int
    count: int
    url_prefix: str
    pin_digits: int | None
    title: str
    max_labels: int
    partial: Path
    final: Path
    #: A PDF's design (codes/design.py): the designer's, or the standard sheet.
    design: dict[str, Any] | None = None


class Stopped(Exception):
    """The runner asked the worker to stop, or the runner's process is gone."""


class Flag(Protocol):
    def is_set(self) -> bool: ...


class Counter(Protocol):
    value: int


def build(spec: Spec, done: Counter, stop: Flag, parent: int) -> int:
    """Write the file of ``spec``; returns its size in bytes. Raises Stopped when ``stop`` is
    set or the process's parent is no longer ``parent``; on any exception the partial file
    is removed."""

    def step(n: int) -> None:
        done.value += n
        if stop.is_set() or os.getppid() != parent:
            raise Stopped

    cipher = SlotCipher(spec.slot, spec.key)
    try:
        # O_EXCL: a second worker for the same job (it cannot happen, but if it did) fails
        # rather than interleaving with the first.
        descriptor = os.open(spec.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            _write(spec, cipher, out, step)
            out.flush()
            os.fsync(out.fileno())
        size = spec.partial.stat().st_size
        spec.partial.replace(spec.final)
    except BaseException:
        spec.partial.unlink(missing_ok=True)
        raise
    return size


def _write(spec: Spec, cipher: SlotCipher, out: Any, step: labels.ProgressFn) -> None:
    if spec.fmt == "csv":
        write_csv(
            out,
            cipher,
            spec.first,
            spec.count,
            spec.url_prefix,
            pin_digits=spec.pin_digits,
            progress=step,
        )
        return
    items = iter_labels(cipher, spec.first, spec.count, spec.url_prefix, pin_digits=spec.pin_digits)
    if spec.fmt == "zip":
        labels.write_qr_zip(out, items, progress=step)
    else:
        assert spec.design is not None  # the runner gives every PDF its design
        render.write_design_pdf(
            out,
            items,
            Design.from_dict(spec.design),
            title=spec.title,
            pin_digits=spec.pin_digits or DEFAULT_PIN_DIGITS,
            progress=step,
            max_labels=spec.max_labels,
        )


def main(spec: Spec, done: Counter, stop: Flag, report: Any) -> None:
    """The worker process's entry point: build, then send one outcome on ``report``:
    ``("done", size)``, ``("stopped", "")`` or ``("failed", reason)``."""
    # Signals are the server's business: a Ctrl-C or a SIGTERM sent to the whole process
    # group must not kill the worker mid-write, leaving its partial file behind. The server
    # stops it through ``stop``, and it stops by itself when the server is gone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The parent is the server, or (started by forkserver) the fork server, which exits when
    # the server does: either way a new parent means the server is gone.
    parent = os.getppid()
    with contextlib.suppress(OSError):  # not permitted here: run at the server's priority
        os.nice(NICENESS)
    try:
        outcome: tuple[str, Any] = ("done", build(spec, done, stop, parent))
    except Stopped:
        outcome = ("stopped", "")
    except OSError as exc:
        outcome = ("failed", f"the export could not be written: {exc.strerror or exc}")
    except Exception:
        log.exception("export job %s failed", spec.job_id)
        outcome = ("failed", "the export failed unexpectedly; the error was logged")
    with contextlib.suppress(OSError):  # the runner is gone; its sweeper removes the file
        report.send(outcome)
