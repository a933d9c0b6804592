"""Hot spots raise alerts: once a week is over, each brand's hot spots of that week become
alerts through the same machinery as every other (alerts/service.py: stored once however
often the job runs, delivered to the brand's webhook through the outbox).

The job runs every hour (app.py) under a platform-wide lock and judges the last whole
calendar week, Monday to Sunday in China Standard Time: judging a sliding week instead
would raise one spike again on each of the seven days its window holds it. A hot spot
found again the next hour is the same alert (its dedupe key names the week), and one that
only appears once late scans are folded is raised then. A week's answer comes from the
sums (analytics/hotspots.py): nine small queries per brand.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.analytics.hotspots import HotSpot, evidence_query, hot_spots
from traceseal.config import Settings
from traceseal.db import unit_of_work, utcnow
from traceseal.geo.buckets import CHINA
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import list_organizations

KIND = "hot_spot"
_WHAT = {
    "suspicious_rate": "the share of suspicious answers",
    "repeat_rate": "the share of repeat queries",
    "not_found": "made-up codes in the brand's name",
}


def last_whole_week(today: date) -> date:
    """The Sunday ending the last calendar week wholly before ``today``."""
    return today - timedelta(days=today.isoweekday() % 7 or 7)


def raise_hot_spot_alerts(session: Session, settings: Settings, *, today: date) -> int:
    """Alerts for every brand's hot spots of the last whole week (Monday to Sunday, CST)
    before ``today``; returns how many were new."""
    end = last_whole_week(today)
    raised = 0
    for brand in list_organizations(session, Role.ENTERPRISE):
        spots = hot_spots(
            session,
            brand,
            end=end,
            threshold=settings.analytics_hotspot_z,
            min_scans=settings.analytics_hotspot_min_scans,
        )
        raised += sum(_raise(session, brand, spot) for spot in spots)
    return raised


def _raise(session: Session, brand: Organization, spot: HotSpot) -> bool:
    found = spot.deviation
    key = f"{KIND}:{brand.id}:{spot.province}:{spot.product_id}:{spot.measure}:{spot.end}"
    query = urlencode(evidence_query(spot))
    stored = raise_alert(
        session,
        kind=KIND,
        severity=Severity.WARNING,
        summary=(
            f"{_WHAT[spot.measure]} in region {spot.province} stood out in the week "
            f"{spot.start} to {spot.end}: {found.value:.3g} against a usual {found.median:.3g} "
            f"(robust z {found.z:.1f})"
        ),
        dedupe_key=key,
        details={
            "province": spot.province,
            "product_id": spot.product_id,
            "measure": spot.measure,
            "value": round(found.value, 6),
            "baseline": round(found.median, 6),
            "z": round(found.z, 2),
            "start": spot.start.isoformat(),
            "end": spot.end.isoformat(),
            "scans": spot.week.scans,
            "evidence": f"/api/v1/analytics/scans?{query}",
        },
        organization_id=brand.id,
        region=spot.province,
    )
    return stored is not None


def hot_spot_job(factory: sessionmaker[Session], settings: Settings) -> int:
    """The hourly job (app.py), in a transaction of its own."""
    if not settings.analytics_hotspot_alerts:
        return 0
    today = utcnow().astimezone(CHINA).date()
    with unit_of_work(factory) as session:
        return raise_hot_spot_alerts(session, settings, today=today)
