"""``/console/health``: the operator's view of the platform's health, a console page.

It lives here, not in console/, because it shows what ops computes for /metrics
(``ops.service.figures``) and ops sits above the console in the layers (pyproject.toml):
ops may use the console's pages, the console may not import ops. Its menu entry is
declared by console/platform.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from starlette.responses import Response

from traceseal.console.deps import StaffDep
from traceseal.console.render import page
from traceseal.db import py_time, utcnow
from traceseal.ledger.models import LedgerCosignature
from traceseal.ops.service import figures
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/console/health")
def health(request: Request, viewer: StaffDep, db: SessionDep) -> Response:
    now = utcnow()
    found = figures(db, now)
    witnesses = db.execute(
        select(
            LedgerCosignature.witness,
            func.max(LedgerCosignature.size),
            func.max(LedgerCosignature.received_at),
        ).group_by(LedgerCosignature.witness)
    )
    rows: list[dict[str, Any]] = []
    for witness, size, received in witnesses:
        moment = py_time(received)
        rows.append(
            {
                "name": str(witness).split("+", 1)[0],
                "size": int(size),
                "age": None if moment is None else (now - moment).total_seconds(),
            }
        )
    context = {"f": found, "witnesses": rows}
    return page(request, "operator/health.html", context, viewer=viewer)
