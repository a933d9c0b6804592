"""The durable outbox every outbound delivery shares (alerts to webhooks, SMS replies).

A row is written in the transaction of whatever caused it, so nothing is lost between
"stored" and "queued". A background thread calls :meth:`Outbox.run`, which sends the due
rows in three short steps: claim them (push their next attempt past the request timeout, a
lease, so another process does not send them meanwhile), send outside any transaction,
record the outcome with back-off. A crash between sending and recording sends again: every
delivery is at least once, and receivers deduplicate on the row's own key.

A table that uses it has the columns ``id``, ``state`` (pending, delivered, failed),
``attempts``, ``next_attempt_at``, ``last_error`` and ``delivered_at``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal.db import read_only_factory, unit_of_work, utcnow

__all__ = ["MAX_BACKOFF", "Outbox", "Outcome"]

log = logging.getLogger("traceseal.outbox")
#: The longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=6)
#: Rows one pass sends at most.
BATCH = 50

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

Job = TypeVar("Job")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: ``error`` None on success."""

    error: str | None = None
    #: The error will not go away by trying again (a refused number): fail now.
    final: bool = False
    #: The receiver's id of what it accepted (a provider's message id), kept on success.
    reference: str | None = None


class Outbox(Generic[Job]):
    """Sends the due rows of ``model``; subclasses say how to prepare and send one."""

    #: The mapped class of the outbox table.
    model: Any

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        max_attempts: int,
        retry_base: int,
        timeout: float,
    ) -> None:
        self._factory = session_factory
        # The look for due rows, every second, only reads: on SQLite it must neither take
        # the writer's turn nor the write lock, which verifications are waiting for.
        self._reader = read_only_factory(session_factory.kw["bind"])
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.timeout = timeout

    # What a subclass provides.
    def prepare(self, session: Session, row: Any) -> Job | None:
        """What to send for ``row`` (read inside the claim's transaction); None fails it
        (after setting ``row.last_error``)."""
        raise NotImplementedError

    def send(self, job: Job, now: datetime) -> Outcome:
        """Send one job, outside any transaction."""
        raise NotImplementedError

    def finished(self, row: Any) -> None:
        """Called in the recording transaction once ``row`` is delivered or failed for good."""

    def backoff(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failure: base, 2 x base, 4 x base, ... capped."""
        return min(timedelta(seconds=self.retry_base * 2 ** (attempts - 1)), MAX_BACKOFF)

    def run(self, now: datetime | None = None) -> int:
        """Send every row due at ``now``; returns how many were attempted."""
        now = now or utcnow()
        model = self.model
        is_due = (model.state == PENDING, model.next_attempt_at <= now)
        with self._reader() as session:
            if session.scalar(select(model.id).where(*is_due).limit(1)) is None:
                return 0
        claimed: list[tuple[int, Job]] = []
        with unit_of_work(self._factory) as session:
            rows = session.scalars(
                select(model).where(*is_due).order_by(model.next_attempt_at, model.id).limit(BATCH)
            ).all()
            for row in rows:
                job = self.prepare(session, row)
                if job is None:
                    row.state = FAILED
                    self.finished(row)
                    continue
                # The lease: nobody else sends it until this attempt had time to finish.
                row.next_attempt_at = now + timedelta(seconds=self.timeout * 3)
                claimed.append((row.id, job))
        for row_id, job in claimed:
            self._record(row_id, self.send(job, now), now)
        return len(claimed)

    def _record(self, row_id: int, outcome: Outcome, now: datetime) -> None:
        with unit_of_work(self._factory) as session:
            row = session.get(self.model, row_id)
            if row is None:
                return
            row.attempts += 1
            if outcome.error is None:
                row.state = DELIVERED
                row.delivered_at = now
                row.last_error = ""
                if outcome.reference is not None and hasattr(row, "provider_id"):
                    row.provider_id = outcome.reference[:100]
                self.finished(row)
                return
            row.last_error = outcome.error[:500]
            if outcome.final or row.attempts >= self.max_attempts:
                row.state = FAILED
                log.warning(
                    "%s %s failed for good: %s", self.model.__tablename__, row_id, row.last_error
                )
                self.finished(row)
            else:
                row.next_attempt_at = now + self.backoff(row.attempts)
