"""Raising, listing and acknowledging alerts. Services take a session and never commit."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert, Delivery, DeliveryState, Severity, Webhook
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
    region: str | None = None,
    distributor_id: int | None = None,
    code: str | None = None,
) -> int | None:
    """Store an alert unless one with ``dedupe_key`` exists; its id if this call stored it.

    If the organisation has a webhook, the delivery is queued in the same statement batch
    (the outbox): the alert and its delivery commit together or not at all.
    """
    now = now or utcnow()
    statement = (
        dialect_insert(session, Alert)
        .values(
            kind=kind,
            severity=severity.value,
            summary=summary,
            details=details or {},
            dedupe_key=dedupe_key,
            organization_id=organization_id,
            raised_at=now,
            region=region,
            distributor_id=distributor_id,
            code=code,
        )
        .on_conflict_do_nothing(index_elements=[Alert.dedupe_key])
        .returning(Alert.id)
    )
    alert_id = session.execute(statement).scalar()
    if alert_id is None or organization_id is None:
        return alert_id
    hooked = session.execute(
        select(Webhook.organization_id).where(Webhook.organization_id == organization_id)
    ).first()
    if hooked is not None:
        session.execute(
            insert(Delivery).values(
                organization_id=organization_id,
                alert_id=alert_id,
                idempotency_key=secrets.token_hex(16),
                state=DeliveryState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                last_error="",
            )
        )
    return int(alert_id)


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
