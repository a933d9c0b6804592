"""The distributor's console: the goods it received and shipped, its territory per brand,
the alerts that name it, and what its scanning page recorded. All read-only: a
distributor records its goods by scanning (``/scan``) or through EPCIS, and the subject of
an alert never acts on it (PRODUCT.md, decision 7).

What it sees is what the API lets its key see: the events it captured, the distributor
records brands keep of it, the alerts naming one of them, its own scan submissions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.alerts.service import list_alerts
from traceseal.bounds import MAX_ID
from traceseal.console.deps import DistributorDep, Viewer, check_csrf
from traceseal.console.menu import only
from traceseal.console.render import page
from traceseal.db import utcnow
from traceseal.logistics import reading
from traceseal.orgs.models import Role
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (
    only(Role.DISTRIBUTOR, "/console/goods", "货物", "Goods", order=20),
    only(Role.DISTRIBUTOR, "/console/territory", "销售区域", "Territory", order=21),
    only(Role.DISTRIBUTOR, "/console/concerning-alerts", "相关告警", "Alerts about us", order=22),
    only(Role.DISTRIBUTOR, "/console/receipt-checks", "收货扫码", "Receipt checks", order=23),
)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: What "recently" means on the home page.
RECENT = timedelta(days=30)
_ACTIONS = ("receive", "ship", "return", "pack_case", "pack_pallet")


def home(db: Session, viewer: Viewer) -> dict[str, Any]:
    """The home page's cards: goods moved in the last 30 days, territories, open alerts."""
    counts = reading.movement_counts(db, viewer.org, utcnow() - RECENT)
    open_alerts = list_alerts(db, viewer.org, unacknowledged=True, limit=5)
    return {
        "received": counts.get("receiving", 0) + counts.get("arriving", 0),
        "shipped": counts.get("shipping", 0) + counts.get("departing", 0),
        "recent": reading.distributor_goods(db, viewer.org, limit=5).items,
        "partners": reading.partners_of(db, viewer.org),
        "open_alerts": open_alerts,
    }


@router.get("/console/goods")
def goods(
    request: Request,
    viewer: DistributorDep,
    db: SessionDep,
    before: Before = None,
    step: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    steps = [step] if step in reading.MOVES else list(reading.MOVES)
    # Its own records, and what its brands recorded at its sites (their shipments to it).
    rows = reading.distributor_goods(db, viewer.org, steps=steps, before=before)
    base = "/console/goods?" + (urlencode({"step": step}) if step else "")
    context = {
        "rows": rows.items,
        "older": f"{base}&before={rows.older}" if rows.older else None,
        "first": base if before else None,
        "step": step,
    }
    return page(request, "partners/goods.html", context, viewer=viewer)


@router.get("/console/territory")
def territory(request: Request, viewer: DistributorDep, db: SessionDep) -> Response:
    context = {"partners": reading.partners_of(db, viewer.org)}
    return page(request, "partners/territory.html", context, viewer=viewer)


@router.get("/console/concerning-alerts")
def concerning_alerts(
    request: Request, viewer: DistributorDep, db: SessionDep, before: Before = None
) -> Response:
    size = reading.PAGE_SIZE
    rows = list_alerts(db, viewer.org, before=before, limit=size + 1)
    older = rows[size - 1].id if len(rows) > size else None
    context = {
        "rows": rows[:size],
        "older": f"/console/concerning-alerts?before={older}" if older else None,
        "first": "/console/concerning-alerts" if before else None,
    }
    return page(request, "partners/concerning_alerts.html", context, viewer=viewer)


@router.get("/console/receipt-checks")
def receipt_checks(
    request: Request,
    viewer: DistributorDep,
    db: SessionDep,
    action: Annotated[str, Query(max_length=20)] = "receive",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    chosen = action if action in _ACTIONS else ""
    rows, more = reading.receipts(db, viewer.org, action=chosen, page=page_number)
    base = f"/console/receipt-checks?action={chosen}"
    context = {
        "rows": rows,
        "older": f"{base}&page={page_number + 1}" if more else None,
        "first": base if page_number > 1 else None,
        "action": chosen,
        "actions": _ACTIONS,
    }
    return page(request, "partners/receipt_checks.html", context, viewer=viewer)
