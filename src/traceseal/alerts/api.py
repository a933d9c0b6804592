"""``/api/v1/alerts``: the operator and regulators see every alert, an enterprise its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from traceseal.alerts import service
from traceseal.alerts.models import Alert
from traceseal.web.deps import Caller, SessionDep

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertRead(BaseModel):
    id: int
    kind: str
    severity: str
    organization_id: int | None
    summary: str
    details: dict[str, Any]
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
            raised_at=alert.raised_at,
            acknowledged_at=alert.acknowledged_at,
        )


@router.get("", response_model=list[AlertRead])
def alerts(
    session: SessionDep,
    caller: Caller,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    unacknowledged: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertRead]:
    found = service.list_alerts(
        session, caller, kind=kind, unacknowledged=unacknowledged, limit=limit
    )
    return [AlertRead.of(a) for a in found]


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(alert_id: int, session: SessionDep, caller: Caller) -> AlertRead:
    return AlertRead.of(service.acknowledge(session, caller, alert_id))
