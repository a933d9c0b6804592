"""The export runner: a thread of each server process that runs queued export jobs, one at a
time, each in a worker process (codes/builder.py).

It claims the oldest queued job, starts the worker, and while the worker writes it records
progress about once a second. That heartbeat is also how it learns that the client deleted
the job (the update matches no row): it stops the worker and removes the partial file. When
the server shuts down (:meth:`ExportRunner.stop`, from the app's lifespan), the worker is
told to stop, given :data:`GRACE` seconds to do so at its next chunk, then killed; the job is
marked failed with the reason, and the partial file removed. Every database step is a short
transaction of its own: nothing holds SQLite's write lock while a file is built.

The sweeper (:meth:`ExportRunner.sweep`, run periodically by the app) fails jobs whose
runner died without a word (kill -9, power loss), deletes finished jobs after
EXPORT_RETENTION, and removes files no job accounts for.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from traceseal.codes import builder, jobs
from traceseal.codes.design import standard
from traceseal.codes.export import code_url_prefix
from traceseal.codes.models import ExportJob, KeySlot
from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import read_only_factory, unit_of_work, utcnow

__all__ = ["GRACE", "SHUTDOWN_REASON", "ExportRunner"]

log = logging.getLogger("traceseal.exports")

#: How long an idle runner sleeps before it looks for queued jobs again; a job created in
#: this process wakes it at once.
IDLE_POLL: Final = 1.0
#: How often the runner looks at its worker (stop requests, exit) and, each HEARTBEAT, writes
#: progress. Stopping takes at most a TICK plus the worker's current chunk.
TICK: Final = 0.1
HEARTBEAT: Final = 1.0
#: Seconds a worker told to stop may take before it is killed.
GRACE: Final = 2.0
SHUTDOWN_REASON: Final = "the server was shut down during the export; ask for it again"


class ExportRunner:
    """Claims and runs export jobs in a thread; see the module's docstring."""

    def __init__(
        self, session_factory: sessionmaker[Session], keyring: Keyring, settings: Settings
    ) -> None:
        self._factory = session_factory
        engine = session_factory.kw["bind"]
        self._read_factory = read_only_factory(engine)
        self._keyring = keyring
        self._settings = settings
        self.directory = settings.data_dir / "exports"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._reason = SHUTDOWN_REASON
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="exports", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, reason: str = SHUTDOWN_REASON, timeout: float = GRACE + 3.0) -> None:
        """Stop the running job (if any) with ``reason`` and end the thread."""
        self._reason = reason
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                spec = self._claim()
            except Exception:
                log.warning("export runner could not claim a job; trying again", exc_info=True)
                self._stopping.wait(IDLE_POLL)
                continue
            if spec is None:
                self._wake.wait(IDLE_POLL)
                self._wake.clear()
                continue
            try:
                self._run(spec)
            except Exception:
                # The worker could not be started or watched: say so now, rather than
                # leaving the job to the sweeper's one-minute lease.
                log.exception("export job %s could not be run", spec.job_id)
                with contextlib.suppress(Exception):
                    self._record(spec, ("failed", "the export could not be run; it was logged"))

    def _claim(self) -> builder.Spec | None:
        with self._read_factory() as session, session.begin():
            if not jobs.has_queued(session):
                return None
        with unit_of_work(self._factory) as session:
            job = jobs.claim_next(session, utcnow())
            return None if job is None else self._spec(session, job)

    def _spec(self, session: Session, job: ExportJob) -> builder.Spec:
        run = job.run
        slot = session.get(KeySlot, run.slot)
        assert slot is not None
        settings = self._settings
        gtin = run.product.gtin if run.product else None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return builder.Spec(
            job_id=job.id,
            fmt=job.format,
            slot=run.slot,
            key=self._keyring.slot_key(slot),
            first=run.first,
            count=run.count,
            url_prefix=code_url_prefix(settings.public_url, gtin),
            pin_digits=settings.pin_digits if run.pin else None,
            title=f"Run {run.id}",
            max_labels=settings.pdf_max_labels,
            design=_design(job),
            partial=jobs.file_path(self.directory, job.id, job.format, partial=True),
            final=jobs.file_path(self.directory, job.id, job.format),
        )

    def _run(self, spec: builder.Spec) -> None:
        context = _context()
        done = context.Value("q", 0, lock=False)
        stop = context.Event()
        reader, writer = context.Pipe(duplex=False)
        worker = context.Process(
            target=builder.main,
            args=(spec, done, stop, writer),
            name=f"export-{spec.job_id}",
            daemon=True,
        )
        worker.start()
        writer.close()
        try:
            outcome = self._supervise(spec, worker, reader, done)
        finally:
            stop.set()
            _end(worker)
            reader.close()
        self._record(spec, outcome)

    def _supervise(
        self, spec: builder.Spec, worker: Any, reader: Any, done: Any
    ) -> tuple[str, Any]:
        """Wait for the worker's outcome, beating; ``("deleted", None)`` if the job went."""
        beaten = time.monotonic()
        while True:
            if reader.poll(TICK):
                try:
                    outcome: tuple[str, Any] = reader.recv()
                except EOFError:
                    worker.join(GRACE)
                    return ("failed", f"the export process ended unexpectedly ({worker.exitcode})")
                return outcome
            if self._stopping.is_set():
                return ("failed", self._reason)
            if time.monotonic() - beaten >= HEARTBEAT:
                beaten = time.monotonic()
                if not self._beat(spec.job_id, done.value):
                    return ("deleted", None)

    def _beat(self, job_id: int, done: int) -> bool:
        """Record progress; False if the job is gone. A database too busy to answer skips
        a beat rather than abandoning a job (STALE_AFTER allows for a minute of them)."""
        try:
            with unit_of_work(self._factory) as session:
                return jobs.heartbeat(session, job_id, done, utcnow())
        except DBAPIError:
            log.warning("export job %s: progress not recorded this time", job_id, exc_info=True)
            return True

    def _record(self, spec: builder.Spec, outcome: tuple[str, Any]) -> None:
        kind, value = outcome
        kept = False
        if kind == "done":
            with unit_of_work(self._factory) as session:
                kept = jobs.finish(session, spec.job_id, int(value), utcnow())
        elif kind != "deleted":
            reason = self._reason if kind == "stopped" else str(value)
            with unit_of_work(self._factory) as session:
                jobs.fail(session, spec.job_id, reason, utcnow())
        spec.partial.unlink(missing_ok=True)
        if not kept:
            spec.final.unlink(missing_ok=True)
        log.info("export job %s: %s", spec.job_id, kind)

    def sweep(self) -> None:
        """Housekeeping (run every half minute or so by the app; safe in every process)."""
        now = utcnow()
        retention = timedelta(seconds=self._settings.export_retention)
        with self._read_factory() as session, session.begin():
            due = jobs.sweep_due(session, now, retention)
        if due:
            with unit_of_work(self._factory) as session:
                jobs.sweep(session, now, retention)
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        # Files first, rows second: a file seen here was created after its job was claimed,
        # so the rows read next know that job as running, done, failed or deleted.
        if not self.directory.is_dir():
            return
        files = [p for p in self.directory.iterdir() if p.name.startswith("job-")]
        if not files:
            return
        with self._read_factory() as session, session.begin():
            kept = jobs.kept_files(session)
        for path in files:
            job_id, final = _parse_name(path)
            # A done job keeps its file; a running one its partial file, and its final file
            # in the moment between the worker's rename and the runner's record.
            state = kept.get(job_id) if job_id is not None else None
            wanted = state == "running" or (state == "done" and final)
            if not wanted:
                path.unlink(missing_ok=True)


def _parse_name(path: Path) -> tuple[int | None, bool]:
    """``job-12.zip`` -> (12, True); ``job-12.zip.partial`` -> (12, False)."""
    stem = path.name.removeprefix("job-").split(".", 1)[0]
    return (int(stem) if stem.isdigit() else None), not path.name.endswith(".partial")


def _context() -> Any:
    # Never fork the threaded server itself: forkserver where there is one, else spawn.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _end(worker: Any) -> None:
    """Give a worker told to stop GRACE seconds, then kill it."""
    worker.join(GRACE)
    if worker.is_alive():
        log.warning("export worker %s did not stop in %s s: killing it", worker.pid, GRACE)
        worker.kill()
        worker.join(GRACE)
    with contextlib.suppress(ValueError):
        worker.close()


def _design(job: ExportJob) -> dict[str, Any] | None:
    """A PDF's design: the designer's, or the standard sheet of the run's names."""
    if job.design is not None or job.format != "pdf":
        return job.design
    product = job.run.product
    names = (product.name, product.brand) if product is not None else ("", "")
    return standard(*names, pins=bool(job.run.pin)).to_dict()
