"""Raising, listing and acknowledging alerts. Services take a session and never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert, Severity
from traceseal.db import Executor, dialect_insert, utcnow
from traceseal.errors import NotFound
from traceseal.orgs.models import Organization, Role

#: Roles that see every alert; others see their own organisation's.
_OVERSIGHT = {Role.OPERATOR.value, Role.REGULATOR.value}


def raise_alert(
    session: Executor,
    *,
    kind: str,
    severity: Severity,
    summary: str,
    dedupe_key: str,
    details: dict[str, Any] | None = None,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Store an alert unless one with ``dedupe_key`` exists; True if this call stored it."""
    statement = (
        dialect_insert(session, Alert)
        .values(
            kind=kind,
            severity=severity.value,
            summary=summary,
            details=details or {},
            dedupe_key=dedupe_key,
            organization_id=organization_id,
            raised_at=now or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[Alert.dedupe_key])
    )
    return bool(session.execute(statement).rowcount)


def _visible(viewer: Organization) -> Any:
    query = select(Alert)
    if viewer.role not in _OVERSIGHT:
        query = query.where(Alert.organization_id == viewer.id)
    return query


def list_alerts(
    session: Session,
    viewer: Organization,
    *,
    kind: str | None = None,
    unacknowledged: bool = False,
    limit: int = 100,
) -> list[Alert]:
    query = _visible(viewer)
    if kind:
        query = query.where(Alert.kind == kind)
    if unacknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def acknowledge(session: Session, viewer: Organization, alert_id: int) -> Alert:
    alert = session.scalar(_visible(viewer).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = viewer.id
    return alert
