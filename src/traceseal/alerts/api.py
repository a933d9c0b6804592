"""``/api/v1/alerts``: the operator and regulators see every alert, an enterprise its own,
a distributor those naming it. The enterprise's webhook is configured here too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from traceseal.alerts import service, webhooks, workflow
from traceseal.alerts.models import Alert, AlertChange, AlertState, Outcome
from traceseal.codes.deps import KeyringDep
from traceseal.orgs.deps import Caller, require
from traceseal.orgs.models import Organization, Role
from traceseal.people import audit
from traceseal.web.deps import PathId, QueryId, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertRead(BaseModel):
    id: int
    kind: str
    severity: str
    organization_id: int | None
    summary: str
    details: dict[str, Any]
    region: str | None
    distributor_id: int | None
    code: str | None
    raised_at: datetime
    acknowledged_at: datetime | None
    state: AlertState = Field(description="open, investigating or closed.")
    outcome: Outcome | None = Field(description="What a closed alert turned out to be.")

    @classmethod
    def of(cls, alert: Alert) -> AlertRead:
        return cls(
            id=alert.id,
            kind=alert.kind,
            severity=alert.severity,
            organization_id=alert.organization_id,
            summary=alert.summary,
            details=alert.details,
            region=alert.region,
            distributor_id=alert.distributor_id,
            code=alert.code,
            raised_at=alert.raised_at,
            acknowledged_at=alert.acknowledged_at,
            state=AlertState(alert.state),
            outcome=None if alert.outcome is None else Outcome(alert.outcome),
        )


class AlertChangeRead(BaseModel):
    at: datetime
    actor: str = Field(description="A console sign-in name, or api:<organisation>.")
    from_state: AlertState
    to_state: AlertState
    outcome: Outcome | None
    note: str

    @classmethod
    def of(cls, change: AlertChange) -> AlertChangeRead:
        return cls(
            at=change.at,
            actor=change.actor,
            from_state=AlertState(change.from_state),
            to_state=AlertState(change.to_state),
            outcome=None if change.outcome is None else Outcome(change.outcome),
            note=change.note,
        )


class AlertDetail(AlertRead):
    history: list[AlertChangeRead] = Field(description="The workflow's steps, oldest first.")
    next: list[AlertState] = Field(description="The steps the caller may take now.")


class InvestigateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=workflow.NOTE_LIMIT)


class CloseWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(
        description="counterfeit (fakes confirmed), diverted (genuine goods out of their "
        "territory), false_alarm or other."
    )
    note: str = Field(min_length=1, max_length=workflow.NOTE_LIMIT, description="What was found.")


class WebhookWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=500, description="Where alerts are POSTed (http or https).")
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="The HMAC key; made for you if omitted (returned once).",
    )


class WebhookRead(BaseModel):
    url: str
    updated_at: datetime
    secret: str | None = Field(default=None, description="Only in the answer that set it.")


@router.get("", response_model=list[AlertRead])
def alerts(
    session: SessionDep,
    caller: Caller,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    unacknowledged: bool = False,
    distributor_id: QueryId = None,
    code: Annotated[str | None, Query(max_length=20)] = None,
    state: AlertState | None = None,
    before: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertRead]:
    found = service.list_alerts(
        session,
        caller,
        kind=kind,
        unacknowledged=unacknowledged,
        limit=limit,
        distributor_id=distributor_id,
        code=code,
        state=None if state is None else state.value,
        before=before,
    )
    return [AlertRead.of(a) for a in found]


@router.get("/summary")
def summary(
    session: SessionDep,
    caller: Caller,
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Alert counts (all and still open) per region, per province and per distributor."""
    return service.summary(session, caller, kind=kind)


@router.put("/webhook", response_model=WebhookRead)
def set_webhook(
    body: WebhookWrite,
    session: SessionDep,
    caller: Caller,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> WebhookRead:
    """Deliver this organisation's alerts to ``url``, signed with ``secret`` (docs/logistics.md)."""
    require(caller, Role.ENTERPRISE, Role.OPERATOR, Role.REGULATOR)
    hook, secret = webhooks.set_webhook(
        session, keyring, caller, body.url, body.secret, settings.outbound_policy
    )
    return WebhookRead(url=hook.url, updated_at=hook.updated_at, secret=secret)


@router.get("/webhook", response_model=WebhookRead)
def read_webhook(session: SessionDep, caller: Caller) -> WebhookRead:
    hook = webhooks.get_webhook(session, caller)
    return WebhookRead(url=hook.url, updated_at=hook.updated_at)


@router.delete("/webhook", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(session: SessionDep, caller: Caller) -> Response:
    webhooks.delete_webhook(session, caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(alert_id: PathId, session: SessionDep, caller: Caller) -> AlertRead:
    return AlertRead.of(service.acknowledge(session, caller, alert_id))


def _detail(session: SessionDep, caller: Organization, alert: Alert) -> AlertDetail:
    return AlertDetail(
        **AlertRead.of(alert).model_dump(),
        history=[AlertChangeRead.of(c) for c in workflow.history(session, alert)],
        next=list(workflow.allowed_next(session, caller, alert)),
    )


@router.get("/{alert_id}", response_model=AlertDetail)
def alert(alert_id: PathId, session: SessionDep, caller: Caller) -> AlertDetail:
    """One alert with its workflow history and the steps the caller may take now."""
    return _detail(session, caller, service.visible_alert(session, caller, alert_id))


def _move(
    session: SessionDep,
    caller: Organization,
    alert_id: int,
    to: AlertState,
    note: str,
    outcome: Outcome | None = None,
) -> AlertDetail:
    actor = audit.Actor(None, f"api:{caller.name}"[:254])
    found = workflow.move(
        session, caller, alert_id, to, actor=actor.name, note=note, outcome=outcome
    )
    audit.record(
        session,
        actor,
        f"alert.{to.value}",
        organization_id=found.organization_id,
        target=f"alert {found.id} ({found.kind})",
        details={"outcome": found.outcome, "note": note[:200]},
    )
    return _detail(session, caller, found)


_WORKFLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "A reader of the alert (its subject, a regulator) may not act on it."},
    404: {"description": "No such alert, or one the caller may not see."},
    409: {"description": "The workflow does not allow this step from the alert's state."},
}


@router.post("/{alert_id}/investigate", response_model=AlertDetail, responses=_WORKFLOW_ERRORS)
def investigate(
    alert_id: PathId, session: SessionDep, caller: Caller, body: InvestigateWrite | None = None
) -> AlertDetail:
    """Take an open alert up: ``open`` → ``investigating`` (acknowledges it too)."""
    note = "" if body is None else body.note
    return _move(session, caller, alert_id, AlertState.INVESTIGATING, note)


@router.post("/{alert_id}/close", response_model=AlertDetail, responses=_WORKFLOW_ERRORS)
def close(alert_id: PathId, session: SessionDep, caller: Caller, body: CloseWrite) -> AlertDetail:
    """Close an open or investigated alert with its outcome and a note. The brand owner and
    the operator close alerts; the subject of an alert (the distributor it names) never does."""
    return _move(session, caller, alert_id, AlertState.CLOSED, body.note, body.outcome)
