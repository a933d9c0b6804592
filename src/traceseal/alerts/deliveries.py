"""The webhook outbox as its owner reads it: which alerts went out, which wait for a retry
and which failed, and why (the console's webhook page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert, Delivery
from traceseal.orgs.models import Organization

__all__ = ["DeliveryRead", "recent_deliveries"]


@dataclass(frozen=True)
class DeliveryRead:
    alert: str
    kind: str
    state: str
    attempts: int
    last_error: str
    next_attempt_at: datetime
    delivered_at: datetime | None


def recent_deliveries(session: Session, org: Organization, limit: int = 20) -> list[DeliveryRead]:
    """The organisation's newest deliveries, newest first."""
    rows = session.execute(
        select(Delivery, Alert.summary, Alert.kind)
        .join(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.organization_id == org.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [
        DeliveryRead(
            summary,
            kind,
            delivery.state,
            delivery.attempts,
            delivery.last_error,
            delivery.next_attempt_at,
            delivery.delivered_at,
        )
        for delivery, summary, kind in rows
    ]
