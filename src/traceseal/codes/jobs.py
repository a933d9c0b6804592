"""Export jobs: a run's codes written to a file in DATA_DIR/exports, off the request path.

Building a label ZIP takes about a millisecond of CPU per code: a million codes is a quarter
of an hour. Such work does not belong in a request: a job row is queued here, a server
process's :class:`~traceseal.codes.runner.ExportRunner` claims it and has a worker process
write the file, and the client polls the job and downloads the result (docs/codes.md,
"Exports"). These functions take a session and never commit; the files themselves are the
runner's and the sweeper's business.

A job belongs to the organisation that asked for it. Another organisation's job answers
exactly as a missing one (NotFound), and so does a job its owner deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun, ExportJob, ExportState
from traceseal.config import Settings
from traceseal.errors import DomainError, InvalidInput, NotFound, TooManyRequests
from traceseal.orgs.models import Organization

__all__ = [
    "FORMATS",
    "MAX_PENDING",
    "STALE_AFTER",
    "ExportTooLarge",
    "check_export",
    "claim_next",
    "create_job",
    "delete_job",
    "fail",
    "file_path",
    "finish",
    "get_job",
    "has_queued",
    "heartbeat",
    "kept_files",
    "list_jobs",
    "sweep",
    "sweep_due",
]

#: What a job can write, and the name of its file's suffix.
FORMATS: Final = ("csv", "zip", "pdf")
#: Unfinished jobs (queued or running) one organisation may have at once. Each server process
#: runs one job at a time, so more would only wait, and one tenant's long queue would hold
#: up everyone else's exports.
MAX_PENDING: Final = 4
#: A running job whose heartbeat is older than this lost its process (killed, crashed).
#: Runners beat about once a second; a minute leaves room for a busy database.
STALE_AFTER: Final = timedelta(seconds=60)

_UNFINISHED = (ExportState.QUEUED.value, ExportState.RUNNING.value)
_FINISHED = (ExportState.DONE.value, ExportState.FAILED.value)


class ExportTooLarge(DomainError):
    """A run over EXPORT_MAX_CODES: refused before any work (HTTP 413)."""

    kind = "too_large"
    title = "Export too large"

    def __init__(self, run: int, count: int, limit: int) -> None:
        super().__init__(
            f"run {run} has {count:,} codes, over the limit of {limit:,} codes for one export "
            "(TRACESEAL_EXPORT_MAX_CODES): issue smaller runs, or have the operator write "
            "this one with `traceseal codes export`",
            field="run",
        )
        self.run = run
        self.count = count
        self.limit = limit


def check_export(run: CodeRun, fmt: str, settings: Settings) -> None:
    """Refuse an export that must not start: over the size cap (ExportTooLarge), or a PDF of
    more labels than a sheet is built for (InvalidInput). Checked before any work."""
    if run.count > settings.export_max_codes:
        raise ExportTooLarge(run.id, run.count, settings.export_max_codes)
    if fmt == "pdf" and run.count > settings.pdf_max_labels:
        raise InvalidInput(
            f"run {run.id} has {run.count:,} codes; PDF label sheets are for runs of up to "
            f"{settings.pdf_max_labels:,}: use codes.zip or codes.csv",
            field="format",
        )


def create_job(
    session: Session,
    owner: Organization,
    run: CodeRun,
    fmt: str,
    *,
    design: dict[str, Any] | None = None,
) -> ExportJob:
    """Queue an export of ``run`` for ``owner``; the caller checked it (:func:`check_export`)
    and wakes a runner once the transaction has committed."""
    pending = session.scalar(
        select(func.count())
        .select_from(ExportJob)
        .where(ExportJob.organization_id == owner.id, ExportJob.state.in_(_UNFINISHED))
    )
    if pending is not None and pending >= MAX_PENDING:
        raise TooManyRequests(
            f"{pending} exports of yours are still queued or running (at most {MAX_PENDING}): "
            "wait for one to finish, or delete one",
            retry_after=60,
        )
    job = ExportJob(
        organization_id=owner.id, run_id=run.id, format=fmt, total=run.count, design=design
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, viewer: Organization, job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None or job.organization_id != viewer.id:
        raise NotFound(f"no export job {job_id}", field="job")
    return job


def list_jobs(
    session: Session, viewer: Organization, *, limit: int = 100, after_id: int = 0
) -> list[ExportJob]:
    """The viewer's jobs, newest first; ``after_id`` pages backwards from a job id."""
    query = select(ExportJob).where(ExportJob.organization_id == viewer.id)
    if after_id:
        query = query.where(ExportJob.id < after_id)
    return list(session.scalars(query.order_by(ExportJob.id.desc()).limit(limit)))


def delete_job(session: Session, viewer: Organization, job_id: int) -> ExportJob:
    """Cancel and forget a job. A running job's runner sees the row gone at its next
    heartbeat, stops its worker and removes the partial file; the caller removes a finished
    job's file once this is committed."""
    job = get_job(session, viewer, job_id)
    session.delete(job)
    session.flush()
    return job


def file_path(directory: Path, job_id: int, fmt: str, *, partial: bool = False) -> Path:
    """Where job ``job_id`` writes its file (``.partial`` until it is complete)."""
    return directory / f"job-{job_id}.{fmt}{'.partial' if partial else ''}"


# --- the runner's side ----------------------------------------------------------------------


def has_queued(session: Session) -> bool:
    """Whether any job waits: a read, so an idle runner never takes SQLite's write lock."""
    found = session.scalar(
        select(ExportJob.id).where(ExportJob.state == ExportState.QUEUED.value).limit(1)
    )
    return found is not None


def claim_next(session: Session, now: datetime) -> ExportJob | None:
    """Take the oldest queued job for this runner, or None if another runner was faster.

    One conditional UPDATE: on PostgreSQL a runner that loses the race for the row finds
    ``state`` no longer 'queued' when it re-reads it after the winner commits, and updates
    nothing; on SQLite the write lock serialises the two.
    """
    oldest = (
        select(ExportJob.id)
        .where(ExportJob.state == ExportState.QUEUED.value)
        .order_by(ExportJob.id)
        .limit(1)
        .scalar_subquery()
    )
    claimed = session.execute(
        update(ExportJob)
        .where(ExportJob.id == oldest, ExportJob.state == ExportState.QUEUED.value)
        .values(state=ExportState.RUNNING.value, started_at=now, heartbeat_at=now)
        .returning(ExportJob.id)
    ).scalar()
    if claimed is None:
        return None
    return session.get(ExportJob, claimed, populate_existing=True)


def heartbeat(session: Session, job_id: int, done: int, now: datetime) -> bool:
    """Record progress; False if the job is no longer this runner's (deleted, or failed by a
    sweeper that thought it dead), which tells the runner to stop."""
    return _update_running(session, job_id, done=done, heartbeat_at=now)


def finish(session: Session, job_id: int, size: int, now: datetime) -> bool:
    """Mark the job done; False if it was deleted meanwhile (the caller removes the file)."""
    return _update_running(
        session,
        job_id,
        state=ExportState.DONE.value,
        done=ExportJob.total,
        size=size,
        heartbeat_at=now,
        finished_at=now,
    )


def fail(session: Session, job_id: int, reason: str, now: datetime) -> bool:
    """Mark an unfinished job failed with ``reason`` (for the client to read)."""
    found = session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.state.in_(_UNFINISHED))
        .values(state=ExportState.FAILED.value, error=reason[:500], finished_at=now)
    )
    return bool(getattr(found, "rowcount", 0))


def _update_running(session: Session, job_id: int, **values: object) -> bool:
    found = session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.state == ExportState.RUNNING.value)
        .values(**values)
    )
    return bool(getattr(found, "rowcount", 0))


# --- housekeeping ---------------------------------------------------------------------------


def sweep(session: Session, now: datetime, retention: timedelta) -> bool:
    """Fail jobs whose runner died, and delete finished jobs older than ``retention``.

    Returns whether anything changed. Run it in a read-only session first to learn whether
    a write is needed at all (:func:`sweep_due`).
    """
    stale = session.execute(
        update(ExportJob)
        .where(
            ExportJob.state == ExportState.RUNNING.value,
            ExportJob.heartbeat_at < now - STALE_AFTER,
        )
        .values(
            state=ExportState.FAILED.value,
            error="the server process building the export stopped; ask for it again",
            finished_at=now,
        )
    )
    expired = session.execute(
        delete(ExportJob).where(
            ExportJob.state.in_(_FINISHED), ExportJob.finished_at < now - retention
        )
    )
    return bool(getattr(stale, "rowcount", 0) or getattr(expired, "rowcount", 0))


def sweep_due(session: Session, now: datetime, retention: timedelta) -> bool:
    """Whether :func:`sweep` has anything to do (a read)."""
    found = session.scalar(
        select(ExportJob.id)
        .where(
            (
                (ExportJob.state == ExportState.RUNNING.value)
                & (ExportJob.heartbeat_at < now - STALE_AFTER)
            )
            | (ExportJob.state.in_(_FINISHED) & (ExportJob.finished_at < now - retention))
        )
        .limit(1)
    )
    return found is not None


def kept_files(session: Session) -> dict[int, str]:
    """The jobs whose files must stay: running ones (partial files) and done ones, by id."""
    rows = session.execute(
        select(ExportJob.id, ExportJob.state).where(
            ExportJob.state.in_((ExportState.RUNNING.value, ExportState.DONE.value))
        )
    )
    return {int(row[0]): str(row[1]) for row in rows}
