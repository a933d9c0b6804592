"""What operations asks of the database: readiness checks and the figures /metrics shows.

Every figure is read from the tables at scrape time, so it is the platform's, whichever
server process answers the scrape, and survives restarts. Each query reads an index (the
outboxes' ``(state, next_attempt_at)``, the export jobs' ``(state, id)``, the log's head),
never a table scan of something that grows with traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from traceseal.alerts.models import Alert, Delivery, DeliveryState
from traceseal.channels.models import SmsReply, SmsState
from traceseal.codes.models import ExportJob, ExportState
from traceseal.db import py_time
from traceseal.keys import MasterKey
from traceseal.ledger import checkpoints, service

__all__ = ["Figures", "Queue", "check_database", "check_master_key", "figures"]


@dataclass(frozen=True, slots=True)
class Queue:
    """One queue of background work: its waiting rows by state, the oldest waiting row's
    age, and (for the outboxes) rows given up on and rows being retried."""

    name: str
    depth: dict[str, int]
    oldest_seconds: float
    failed: int | None = None
    retrying: int | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    queues: list[Queue]
    ledger_size: int
    checkpoint_size: int
    #: Seconds since the newest checkpoint was signed; None before the first.
    checkpoint_age: float | None


def check_database(engine: Engine) -> None:
    """Raises the driver's error if the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def check_master_key(session: Session, keyring: MasterKey) -> None:
    """Raises if the loaded master key does not open what the database holds: the log's
    signing key is wrapped by it (a key file from another installation, a mistyped
    TRACESEAL_MASTER_KEY). Before the log has a key there is nothing to check against."""
    checkpoints.log_verifier(session, keyring)


def _age(oldest: object, now: datetime) -> float:
    moment = py_time(oldest)
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())


def _counts(
    session: Session, state: InstrumentedAttribute[str], states: list[str]
) -> dict[str, int]:
    rows = session.execute(select(state, func.count()).where(state.in_(states)).group_by(state))
    found = {str(name): int(count) for name, count in rows}
    return {name: found.get(name, 0) for name in states}


def _webhooks(session: Session, now: datetime) -> Queue:
    pending, failed = DeliveryState.PENDING.value, DeliveryState.FAILED.value
    counts = _counts(session, Delivery.state, [pending, failed])
    # A delivery's age is its alert's: the row has no time of its own but its next attempt.
    oldest = session.scalar(
        select(func.min(Alert.raised_at))
        .join(Delivery, Delivery.alert_id == Alert.id)
        .where(Delivery.state == pending)
    )
    retrying = session.scalar(
        select(func.count()).where(Delivery.state == pending, Delivery.attempts > 0)
    )
    return Queue(
        "webhooks", {pending: counts[pending]}, _age(oldest, now), counts[failed], retrying or 0
    )


def _sms(session: Session, now: datetime) -> Queue:
    pending, failed = SmsState.PENDING.value, SmsState.FAILED.value
    counts = _counts(session, SmsReply.state, [pending, failed])
    oldest = session.scalar(select(func.min(SmsReply.created_at)).where(SmsReply.state == pending))
    retrying = session.scalar(
        select(func.count()).where(SmsReply.state == pending, SmsReply.attempts > 0)
    )
    return Queue(
        "sms", {pending: counts[pending]}, _age(oldest, now), counts[failed], retrying or 0
    )


def _exports(session: Session, now: datetime) -> Queue:
    waiting = [ExportState.QUEUED.value, ExportState.RUNNING.value]
    counts = _counts(session, ExportJob.state, waiting)
    oldest = session.scalar(
        select(func.min(ExportJob.created_at)).where(ExportJob.state.in_(waiting))
    )
    return Queue("exports", counts, _age(oldest, now))


def figures(session: Session, now: datetime) -> Figures:
    latest = checkpoints.latest(session)
    return Figures(
        queues=[_webhooks(session, now), _sms(session, now), _exports(session, now)],
        ledger_size=service.size(session),
        checkpoint_size=0 if latest is None else latest.size,
        checkpoint_age=None if latest is None else _age(latest.published_at, now),
    )
