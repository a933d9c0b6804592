"""Raising, listing and acknowledging alerts. Services take a session and never commit."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from traceseal.alerts.models import Alert, Delivery, DeliveryState, Severity, Webhook
from traceseal.db import Executor, dialect_insert, utcnow
from traceseal.errors import Forbidden, NotFound
from traceseal.orgs import tenancy
from traceseal.orgs.models import Organization, Role

#: Roles that see every alert; others see their own organisation's.


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


def _scope(query: Any, viewer: Organization) -> Any:
    """Oversight roles see every alert; an enterprise its own; a distributor those naming it."""
    if viewer.role == Role.DISTRIBUTOR.value:
        from traceseal.logistics.models import Distributor

        mine = select(Distributor.id).where(Distributor.organization_id == viewer.id)
        return query.where(Alert.distributor_id.in_(mine))
    return tenancy.mine(query, Alert.organization_id, viewer, tenancy.OVERSIGHT)


def _visible(viewer: Organization) -> Any:
    return _scope(select(Alert), viewer)


def list_alerts(
    session: Session,
    viewer: Organization,
    *,
    kind: str | None = None,
    unacknowledged: bool = False,
    limit: int = 100,
    distributor_id: int | None = None,
    code: str | None = None,
    state: str | None = None,
    before: int | None = None,
) -> list[Alert]:
    query = _visible(viewer)
    if kind:
        query = query.where(Alert.kind == kind)
    if state:
        query = query.where(Alert.state == state)
    if before is not None:
        query = query.where(Alert.id < before)  # the next page, newest first (consoles)
    if distributor_id is not None:
        query = query.where(Alert.distributor_id == distributor_id)
    if code:
        query = query.where(Alert.code == code)
    if unacknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def visible_alert(session: Session, viewer: Organization, alert_id: int) -> Alert:
    """The alert, or NotFound if there is none the viewer may see (the same answer)."""
    alert: Alert | None = session.scalar(_visible(viewer).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def acknowledge(session: Session, viewer: Organization, alert_id: int) -> Alert:
    alert = visible_alert(session, viewer, alert_id)
    # Readers are not actors: the alert's subject (the suspected distributor) and regulators
    # read it; only the brand owner and the operator act on it.
    if not (tenancy.sees_all(viewer) or alert.organization_id == viewer.id):
        raise Forbidden("only the brand owner and the operator act on an alert; you may read it")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = viewer.id
        # Free the key: one *open* alert per key, so the same problem seen again after
        # this acknowledgement is a new alert, not silence.
        alert.dedupe_key = f"{alert.dedupe_key[:180]}@acknowledged:{alert.id}"
    return alert


def summary(session: Session, viewer: Organization, *, kind: str | None = None) -> dict[str, Any]:
    """Alerts counted per region (and its province) and per distributor, by kind.

    ``open`` counts the unacknowledged ones. Regions are named from the GB/T 2260 table.
    """
    from traceseal.geo.regions import table
    from traceseal.logistics.models import Distributor

    still_open = func.sum(case((Alert.acknowledged_at.is_(None), 1), else_=0))
    by_region = _scope(
        select(Alert.kind, Alert.region, func.count(), still_open).group_by(
            Alert.kind, Alert.region
        ),
        viewer,
    )
    by_distributor = _scope(
        select(Alert.kind, Alert.distributor_id, Organization.name, func.count(), still_open)
        .join(Distributor, Distributor.id == Alert.distributor_id)
        .join(Organization, Organization.id == Distributor.organization_id)
        .group_by(Alert.kind, Alert.distributor_id, Organization.name),
        viewer,
    )
    if kind:
        by_region = by_region.where(Alert.kind == kind)
        by_distributor = by_distributor.where(Alert.kind == kind)
    names = table()
    regions = []
    provinces: dict[tuple[str, str | None], list[int]] = {}
    for alert_kind, region, count, opened in session.execute(by_region):
        regions.append(
            {
                "kind": alert_kind,
                "region": region,
                "name": names.label(region, "zh-CN") if region else "",
                "count": int(count),
                "open": int(opened or 0),
            }
        )
        province = None if region is None else region[:2] + "0000"
        totals = provinces.setdefault((alert_kind, province), [0, 0])
        totals[0] += int(count)
        totals[1] += int(opened or 0)
    return {
        "by_region": sorted(regions, key=lambda r: (r["kind"], r["region"] or "")),
        "by_province": [
            {
                "kind": alert_kind,
                "region": province,
                "name": names.label(province, "zh-CN") if province else "",
                "count": count,
                "open": opened,
            }
            for (alert_kind, province), (count, opened) in sorted(
                provinces.items(), key=lambda item: (item[0][0], item[0][1] or "")
            )
        ],
        "by_distributor": [
            {
                "kind": alert_kind,
                "distributor_id": distributor_id,
                "name": name,
                "count": int(count),
                "open": int(opened or 0),
            }
            for alert_kind, distributor_id, name, count, opened in session.execute(
                by_distributor.order_by(Alert.kind, Alert.distributor_id)
            )
        ],
    }
