"""The brand's home cards: today's verifications and their verdicts, open alerts, the
latest counterfeit reports, and the ways to the catalogue pages.

Today's figures come from the hourly scan rollups through the analytics service (one row
per hour and key, never the scan log); alerts and reports through their own services,
each limited to the brand's rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from traceseal.alerts.service import list_alerts
from traceseal.analytics.service import Filters, verdict_mix
from traceseal.console.deps import Viewer
from traceseal.verify.messages import title
from traceseal.verify.models import Verdict
from traceseal.verify.reports.service import list_reports
from traceseal.verify.rollups import CHINA

#: Open alerts counted one by one up to this; above it the card says "more than".
ALERTS_SHOWN = 99
#: The verdicts in the order a brand reads them: the good news first.
ORDER = tuple(Verdict)


def cards(db: Session, viewer: Viewer) -> dict[str, Any]:
    """The context of console/home/enterprise.html."""
    today = datetime.now(CHINA).date()
    figures = verdict_mix(db, viewer.org, Filters(start=today, end=today))
    counts = {f.key: f.counts["scans"] for f in figures}
    mix = [
        {"verdict": v.value, "zh": title(v, "zh-CN"), "en": title(v, "en"), "scans": counts[v]}
        for v in ORDER
        if counts.get(v.value)
    ]
    alerts = list_alerts(db, viewer.org, unacknowledged=True, limit=ALERTS_SHOWN + 1)
    reports = list_reports(db, viewer.org, limit=5)
    return {
        "today": today,
        "scans_today": sum(counts.values()),
        "mix": mix,
        "open_alerts": min(len(alerts), ALERTS_SHOWN),
        "more_alerts": len(alerts) > ALERTS_SHOWN,
        "reports": reports,
        "report_status": {
            "not_found": ("查无此码", "no such code"),
            "issued": ("未激活的码", "code not activated"),
            "active": ("已激活的码", "active code"),
            "void": ("已作废的码", "void code"),
        },
    }
