"""Subscriptions to named queries by webhook (EPCIS 2.0 REST binding,
``/queries/{name}/subscriptions``): what is delivered, and when.

- ``stream: true``: every newly captured event that matches. :func:`on_capture` runs in the
  capture's own transaction (``writer.Writer.finish``) and writes the outbox rows there, so
  an event is never stored without its deliveries being queued, nor queued without being
  stored.
- ``schedule``: at each query time (``schedule.py``), the matching events captured since the
  last run; with ``reportIfEmpty`` an empty result is sent too. :class:`Scheduler` is the
  server's background task that writes those rows.
- ``initialRecordTime``: events recorded from then on are considered the first time (the
  default is the moment of subscribing, so only new events).

Either way a subscription receives only the events its organisation may read
(``query.visible_to``), checked when a row is written and again when it is sent.
Rows go out through ``delivery.py`` (the durable outbox, signed, retried).
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Any

from sqlalchemy import delete, func, select, true
from sqlalchemy.orm import Session, sessionmaker

from traceseal import outbound
from traceseal.db import read_only_factory, unit_of_work, utcnow
from traceseal.epcis import named as naming
from traceseal.epcis.errors import EPCISException
from traceseal.epcis.models import CaptureJob, Event
from traceseal.epcis.schedule import Schedule, ScheduleError, parse
from traceseal.epcis.standing_models import NamedQuery, Subscription, SubscriptionDelivery
from traceseal.errors import Conflict, NotFound
from traceseal.keys import MasterKey
from traceseal.orgs.models import Organization

__all__ = [
    "TOKEN_PURPOSE",
    "Controls",
    "Scheduler",
    "find",
    "on_capture",
    "read",
    "subscribe",
    "unsubscribe",
]

log = logging.getLogger("traceseal.epcis.subscriptions")
#: The master-key purpose that wraps signature tokens.
TOKEN_PURPOSE = "epcis-signature-token"  # noqa: S105 - a label, not a secret
MAX_TOKEN = 1000
#: Most events one delivery carries (a webhook POST or a WebSocket message): the binding
#: has no paging for POSTs and asks for "manageable batches".
BATCH = 500
#: Most events one scheduled run, or a stream's start from initialRecordTime, queues at once
#: (in one transaction): a run takes the rest next time; a stream reaching back further is
#: refused, since a webhook cannot be asked to take a whole history in one go.
MAX_BACKLOG = 100 * BATCH


@dataclass(frozen=True, slots=True)
class Controls:
    """A subscription request's members, as the client sent them (checked by subscribe)."""

    dest: Any
    signature_token: Any = None
    stream: Any = None
    schedule: Any = None
    report_if_empty: Any = False
    initial_record_time: datetime | None = None


def _refuse(detail: str, field: str) -> naming.SubscriptionControlsException:
    return naming.SubscriptionControlsException(detail, field=field)


def check_mode(stream: Any, schedule: Any) -> Schedule | None:
    """The schedule, or None for a stream; exactly one of the two must be asked for."""
    if stream is not None and stream is not True:
        raise _refuse("stream, when given, must be true", "stream")
    if stream and schedule is not None:
        raise _refuse("give either stream or a schedule, not both", "schedule")
    if schedule is None:
        if not stream:
            raise _refuse("give a schedule, or stream: true for every new event", "stream")
        return None
    if not isinstance(schedule, dict):
        raise _refuse("schedule must be an object", "schedule")
    try:
        plan = parse(schedule)
    except ScheduleError as exc:
        raise _refuse(str(exc), f"schedule/{exc.field}") from None
    if plan.next_after(utcnow(), UTC) is None:
        raise _refuse("this schedule never comes round (such as 31 February)", "schedule")
    return plan


def _check_dest(dest: Any, policy: outbound.Policy) -> str:
    if not isinstance(dest, str) or not dest:
        raise _refuse("dest, the URL deliveries are POSTed to, is required", "dest")
    try:
        return outbound.check_url(dest, policy)
    except outbound.Refused as exc:
        raise _refuse(f"dest refused: {exc}", "dest") from None


def subscribe(
    session: Session,
    keyring: MasterKey,
    org: Organization,
    name: str,
    controls: Controls,
    *,
    policy: outbound.Policy,
    zone: timezone,
    limit: int,
) -> Subscription:
    """Subscribe ``org``'s query ``name`` to ``controls.dest``; the caller commits."""
    named = naming.find(session, org, name)
    plan = check_mode(controls.stream, controls.schedule)
    dest = _check_dest(controls.dest, policy)
    token = controls.signature_token
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN):
        raise _refuse(
            f"signatureToken is a string of 1 to {MAX_TOKEN} characters", "signatureToken"
        )
    if not isinstance(controls.report_if_empty, bool):
        raise _refuse("reportIfEmpty is true or false", "reportIfEmpty")
    if _count(session, org) >= limit:
        raise Conflict(f"you have {limit} subscriptions, the most one organisation may keep")
    now = utcnow()
    initial = controls.initial_record_time
    subscription = Subscription(
        subscription_id=str(uuid.uuid4()),
        query_id=named.id,
        dest=dest,
        wrapped_token=None if token is None else keyring.wrap_secret(TOKEN_PURPOSE, token.encode()),
        stream=plan is None,
        schedule=None if plan is None else json.dumps(controls.schedule, sort_keys=True),
        report_if_empty=controls.report_if_empty,
        initial_record_time=initial,
        min_record_time=initial or now,
        # Without initialRecordTime only events captured from now on are considered.
        last_event_id=-1 if initial else last_event_id(session),
        next_run_at=None if plan is None else plan.next_after(now, zone),
        created_at=now,
    )
    session.add(subscription)
    session.flush()
    if plan is None and initial is not None:
        # A stream that starts in the past: what was recorded since then, queued now;
        # on_capture queues everything newer.
        ids = _backlog(session, org, named, subscription)
        if len(ids) > MAX_BACKLOG:
            raise _refuse(
                f"more than {MAX_BACKLOG:,} events were recorded since initialRecordTime; "
                "choose a later time, or read them from the query's events first",
                "initialRecordTime",
            )
        enqueue(session, subscription, ids)
    return subscription


def _count(session: Session, org: Organization) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Subscription)
        .join(NamedQuery, NamedQuery.id == Subscription.query_id)
        .where(NamedQuery.organization_id == org.id)
    )
    return count or 0


def last_event_id(session: Session) -> int:
    """The newest event's id; -1 for none (ids are log leaf indexes: the first is 0)."""
    newest = session.scalar(select(func.max(Event.id)))
    return -1 if newest is None else int(newest)


def _backlog(
    session: Session, org: Organization, named: NamedQuery, subscription: Subscription
) -> list[int]:
    return naming.matching_ids(
        session,
        org,
        naming.stored_params(named),
        [Event.record_time >= subscription.min_record_time],
        limit=MAX_BACKLOG + 1,
    )


def enqueue(
    session: Session,
    subscription: Subscription,
    ids: list[int],
    *,
    empty: bool = False,
) -> int:
    """Queue ``ids`` in deliveries of at most BATCH events (one empty delivery when
    ``empty`` and there are none); returns how many rows were written."""
    now = utcnow()
    chunks = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)] or ([[]] if empty else [])
    for chunk in chunks:
        session.add(
            SubscriptionDelivery(
                subscription_id=subscription.id,
                event_ids=json.dumps(chunk),
                idempotency_key=secrets.token_hex(16),
                created_at=now,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
            )
        )
    return len(chunks)


_ANY_STREAM = select(Subscription.id).where(Subscription.stream == true()).limit(1)


def on_capture(session: Session, job: CaptureJob) -> None:
    """Queue the new events of ``job`` for every stream subscription they match, in the
    capture's transaction. One indexed query per stream subscription (usually none).

    A subscription whose stored query no longer evaluates (a vocabulary changed) is
    skipped and logged: someone else's subscription must never refuse a capture.
    """
    # The usual case, no stream subscription at all: one indexed probe, built once (about
    # 0.1 ms on SQLite; building the statement per call cost as much again).
    if session.scalar(_ANY_STREAM) is None:
        return
    rows = session.execute(
        select(Subscription, NamedQuery)
        .join(NamedQuery, NamedQuery.id == Subscription.query_id)
        .where(Subscription.stream == true())
    ).all()
    for subscription, named in rows:
        subscriber = session.get(Organization, named.organization_id)
        if subscriber is None:
            continue
        try:
            params = naming.stored_params(named)
            scope = [Event.capture_job_id == job.id]
            if subscription.initial_record_time is not None:
                # Events recorded before initialRecordTime are never considered.
                scope.append(Event.record_time >= subscription.initial_record_time)
            ids = naming.matching_ids(session, subscriber, params, scope)
        except EPCISException as exc:
            log.warning("subscription %s skipped: %s", subscription.subscription_id, exc)
            continue
        enqueue(session, subscription, ids)


def find(session: Session, org: Organization, name: str, subscription_id: str) -> Subscription:
    named = naming.find(session, org, name)
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.query_id == named.id, Subscription.subscription_id == subscription_id
        )
    )
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id!r} to {name!r}")
    return subscription


def listing(session: Session, org: Organization, name: str) -> list[Subscription]:
    named = naming.find(session, org, name)
    return list(
        session.scalars(
            select(Subscription).where(Subscription.query_id == named.id).order_by(Subscription.id)
        )
    )


def unsubscribe(session: Session, org: Organization, name: str, subscription_id: str) -> None:
    """Delete the subscription; what it had queued goes with it (the cascade)."""
    subscription = find(session, org, name, subscription_id)
    session.execute(
        delete(SubscriptionDelivery).where(SubscriptionDelivery.subscription_id == subscription.id)
    )
    session.delete(subscription)
    session.flush()


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read(subscription: Subscription, query_name: str) -> dict[str, Any]:
    """The binding's subscription resource; the signature token is never shown again."""
    body: dict[str, Any] = {
        "subscriptionID": subscription.subscription_id,
        "queryName": query_name,
        "dest": subscription.dest,
        "createdAt": _iso(subscription.created_at),
        "minRecordTime": _iso(subscription.min_record_time),
        "signed": subscription.wrapped_token is not None,
    }
    if subscription.stream:
        body["stream"] = True
    else:
        body["schedule"] = json.loads(subscription.schedule or "{}")
        body["reportIfEmpty"] = subscription.report_if_empty
        body["nextRunAt"] = _iso(subscription.next_run_at)
    optional = {
        "initialRecordTime": _iso(subscription.initial_record_time),
        "lastNotifiedAt": _iso(subscription.last_notified_at),
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


class Scheduler:
    """Runs the scheduled subscriptions that are due: :meth:`run` is a background task."""

    def __init__(self, factory: sessionmaker[Session], *, zone: timezone) -> None:
        self._factory = factory
        self._reader = read_only_factory(factory.kw["bind"])
        self.zone = zone

    def run(self, now: datetime | None = None) -> int:
        """Queue the deliveries of every subscription due at ``now``; returns how many ran."""
        now = now or utcnow()
        due = (Subscription.next_run_at.is_not(None), Subscription.next_run_at <= now)
        with self._reader() as session:
            if session.scalar(select(Subscription.id).where(*due).limit(1)) is None:
                return 0
        with unit_of_work(self._factory) as session:
            # SKIP LOCKED: two server processes never run one subscription twice.
            subscriptions = session.scalars(
                select(Subscription).where(*due).with_for_update(skip_locked=True)
            ).all()
            for subscription in subscriptions:
                self._run_one(session, subscription, now)
            return len(subscriptions)

    def _run_one(self, session: Session, subscription: Subscription, now: datetime) -> None:
        named = session.get(NamedQuery, subscription.query_id)
        subscriber = None if named is None else session.get(Organization, named.organization_id)
        plan = parse(json.loads(subscription.schedule or "{}"))
        subscription.next_run_at = plan.next_after(now, self.zone)
        if named is None or subscriber is None:
            return
        since = [Event.id > subscription.last_event_id]
        if subscription.initial_record_time is not None:
            since.append(Event.record_time >= subscription.initial_record_time)
        try:
            params = naming.stored_params(named)
            ids = naming.matching_ids(session, subscriber, params, since, limit=MAX_BACKLOG)
        except EPCISException as exc:
            log.warning("subscription %s skipped: %s", subscription.subscription_id, exc)
            return
        enqueue(session, subscription, ids, empty=subscription.report_if_empty)
        if ids:
            subscription.last_event_id = ids[-1]
        subscription.min_record_time = now


def names_of(session: Session, subscriptions: Iterable[Subscription]) -> Mapping[int, str]:
    """Query names by query id, for rendering subscriptions."""
    ids = {s.query_id for s in subscriptions}
    if not ids:
        return {}
    rows = session.execute(select(NamedQuery.id, NamedQuery.name).where(NamedQuery.id.in_(ids)))
    return {row[0]: row[1] for row in rows}
