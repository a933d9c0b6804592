"""An alert's workflow: open → investigating → closed, closing with an outcome and a note.

Every step is an ``AlertChange`` row (who, when, from, to, outcome, note) written with the
step itself. Services take a session and never commit.

Who may act: the brand owner the alert belongs to and the operator; regulators and the
alert's subject (the distributor it names) read it, and the subject of an alert never
closes it (docs/api.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert, AlertChange, AlertState, Outcome
from traceseal.alerts.service import visible_alert
from traceseal.db import utcnow
from traceseal.errors import Conflict, Forbidden, InvalidInput
from traceseal.orgs import tenancy
from traceseal.orgs.models import Organization

#: The steps an alert may take from each state.
NEXT: dict[AlertState, tuple[AlertState, ...]] = {
    AlertState.OPEN: (AlertState.INVESTIGATING, AlertState.CLOSED),
    AlertState.INVESTIGATING: (AlertState.CLOSED,),
    AlertState.CLOSED: (),
}
NOTE_LIMIT = 2000


def is_subject(session: Session, viewer: Organization, alert: Alert) -> bool:
    """Whether ``viewer`` is what the alert is about: the distributor it names."""
    if alert.distributor_id is None:
        return False
    from traceseal.logistics.models import Distributor

    owner = session.scalar(
        select(Distributor.organization_id).where(Distributor.id == alert.distributor_id)
    )
    return owner == viewer.id


def may_act(session: Session, viewer: Organization, alert: Alert) -> bool:
    """The brand owner and the operator act on an alert; never its subject."""
    if is_subject(session, viewer, alert):
        return False
    return tenancy.sees_all(viewer) or alert.organization_id == viewer.id


def allowed_next(session: Session, viewer: Organization, alert: Alert) -> tuple[AlertState, ...]:
    """The steps ``viewer`` may take now (empty for readers and for a closed alert)."""
    if not may_act(session, viewer, alert):
        return ()
    return NEXT[AlertState(alert.state)]


def move(
    session: Session,
    viewer: Organization,
    alert_id: int,
    to: AlertState,
    *,
    actor: str,
    note: str = "",
    outcome: Outcome | None = None,
    now: datetime | None = None,
) -> Alert:
    """Move the alert to ``to``: NotFound for an alert the viewer cannot see, Forbidden for
    a reader (its subject above all), Conflict for a step the workflow does not allow,
    InvalidInput for a close without its outcome and note."""
    alert = visible_alert(session, viewer, alert_id)
    if is_subject(session, viewer, alert):
        raise Forbidden("the subject of an alert never closes it or moves it on; you may read it")
    if not may_act(session, viewer, alert):
        raise Forbidden("only the brand owner and the operator act on an alert; you may read it")
    now = now or utcnow()
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(f"the note may have at most {NOTE_LIMIT} characters", field="note")
    current = AlertState(alert.state)
    if to not in NEXT[current]:
        raise Conflict(f"an alert that is {current.value} cannot become {to.value}", field="state")
    if to is AlertState.CLOSED:
        if outcome is None:
            raise InvalidInput("closing an alert needs an outcome", field="outcome")
        if not note:
            raise InvalidInput("closing an alert needs a note saying what was found", field="note")
    elif outcome is not None:
        raise InvalidInput("only closing an alert takes an outcome", field="outcome")
    alert.state = to.value
    alert.outcome = None if outcome is None else outcome.value
    if alert.acknowledged_at is None:
        # Taking an alert up acknowledges it: it leaves the open-alert index, and the same
        # problem seen again raises a new alert (service.acknowledge says why).
        alert.acknowledged_at = now
        alert.acknowledged_by_id = viewer.id
        alert.dedupe_key = f"{alert.dedupe_key[:180]}@acknowledged:{alert.id}"
    session.add(
        AlertChange(
            alert_id=alert.id,
            at=now,
            organization_id=viewer.id,
            actor=actor[:254],
            from_state=current.value,
            to_state=to.value,
            outcome=alert.outcome,
            note=note,
        )
    )
    session.flush()
    return alert


def history(session: Session, alert: Alert) -> Sequence[AlertChange]:
    """The alert's steps, oldest first (the caller has already found the alert visible)."""
    return session.scalars(
        select(AlertChange).where(AlertChange.alert_id == alert.id).order_by(AlertChange.id)
    ).all()
