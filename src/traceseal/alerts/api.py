"""``/api/v1/alerts``: the operator and regulators see every alert, an enterprise its own,
a distributor those naming it. The enterprise's webhook is configured here too."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from traceseal.alerts import service, webhooks
from traceseal.alerts.models import Alert
from traceseal.codes.deps import KeyringDep
from traceseal.orgs.deps import Caller, require
from traceseal.orgs.models import Role
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
        )


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
