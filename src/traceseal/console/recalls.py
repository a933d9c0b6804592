"""The brand's recalls: its list, starting a recall of a batch, and each recall with its
reach (where the recalled goods are now, recalls/reach.py) and the way to end it.

Handlers call the same services as ``/api/v1/recalls``: a recall of another brand's
product (and not announced by this brand) answers 404; every start and end is recorded
in the audit log, as the signed quality record the service writes is in the log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

import traceseal.console.plain as plain
from traceseal.bounds import MAX_ID
from traceseal.codes.deps import KeyringDep
from traceseal.codes.service import Keyring
from traceseal.console.deps import BrandDep, ConsoleError, Viewer, check_csrf
from traceseal.console.menu import brand
from traceseal.console.render import finish, page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.people import audit
from traceseal.quality.deps import IssuingDep
from traceseal.recalls import reach as reaching
from traceseal.recalls import service
from traceseal.recalls.models import Recall
from traceseal.recalls.reach_api import csv_of, read_of
from traceseal.registry.service import list_products
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/recalls", "召回", "Recalls", order=42),)
PAGE = 25
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str, Form(max_length=4000)]
#: Where reached goods are, in plain words (reach.py's statuses).
HOLDER_STATUSES: plain.Words = {
    "held": ("在库（已收货未发出）", "In stock (received, not shipped on)"),
    "in_transit": ("运输途中", "On the way"),
    "assigned": ("已分配给经销商（无物流记录）", "Assigned to a distributor (no shipping records)"),
    "sold": ("已售出", "Sold"),
    "untracked": ("无记录", "Not tracked"),
}


@router.get("/console/recalls")
def recalls(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    before: Before = None,
    ended: Annotated[str, Query(max_length=3)] = "",
) -> Response:
    rows = service.list_recalls(
        db, active_only=ended != "yes", limit=PAGE + 1, concerning=viewer.org.id, before=before
    )
    params = dict(request.query_params)
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    context = {
        "rows": rows[:PAGE],
        "ended": ended == "yes",
        "older": plain.page_link(request.url.path, params, before=older) if older else None,
        "first": plain.page_link(request.url.path, params, before="") if before else None,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "workflows/recalls.html", context, viewer=viewer)


def _form(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "products": list_products(db, viewer.org, limit=1000),
        "errors": errors or {},
        "form": form or {},
    }
    return page(request, "workflows/recall_new.html", context, viewer=viewer, status=status)


@router.get("/console/recalls/new")
def new_recall_form(request: Request, viewer: BrandDep, db: SessionDep) -> Response:
    return _form(request, viewer, db)


@router.post("/console/recalls/new")
def new_recall(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    issuing: IssuingDep,
    gtin: Annotated[str, Form(max_length=32)] = "",
    lot: Annotated[str, Form(max_length=32)] = "",
    reason: Text = "",
    instructions: Text = "",
    contact: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = {
        "gtin": gtin,
        "lot": lot,
        "reason": reason,
        "instructions": instructions,
        "contact": contact,
    }
    if not gtin:
        return _form(
            request, viewer, db, errors={"gtin": "choose a product"}, form=form, status=422
        )
    try:
        started = service.announce(
            db,
            issuing,
            viewer.org,
            gtin=gtin,
            lots=[lot.strip()] if lot.strip() else [],
            reason=reason,
            instructions=instructions,
            contact=contact,
        )
    except DomainError as exc:
        field = exc.field if exc.field in ("gtin", "lot") else "reason"
        return _form(request, viewer, db, errors={field: exc.detail}, form=form, status=422)
    recall = started[0]
    audit.record(
        db,
        viewer.actor,
        "recall.start",
        organization_id=viewer.org.id,
        target=f"recall {recall.id} ({recall.product.gtin} lot {lot.strip() or '*'})",
        details={"reason": recall.reason[:200]},
    )
    return see_other(request, f"/console/recalls/{recall.id}?done=started")


def _recall(db: SessionDep, viewer: Viewer, recall_id: int) -> Recall:
    try:
        return service.get_recall(db, viewer.org, recall_id)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None


def _detail(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    keyring: Keyring,
    found: Recall,
    *,
    refused: str = "",
    status: int = 200,
) -> Response:
    reach = reaching.reach(db, keyring, reaching.of_recall(found))
    context = {
        "recall": found,
        "reach": reach,
        "totals": reach.totals(),
        "statuses": HOLDER_STATUSES,
        "may_end": found.ended_at is None and found.announced_by_id == viewer.org.id,
        "done": request.query_params.get("done", ""),
        "refused": refused,
        "words": plain,
    }
    return page(request, "workflows/recall.html", context, viewer=viewer, status=status)


@router.get("/console/recalls/{recall_id}")
def recall(
    request: Request, viewer: BrandDep, db: SessionDep, keyring: KeyringDep, recall_id: PathId
) -> Response:
    return _detail(request, viewer, db, keyring, _recall(db, viewer, recall_id))


@router.get("/console/recalls/{recall_id}/reach.csv")
def reach_csv(
    request: Request, viewer: BrandDep, db: SessionDep, keyring: KeyringDep, recall_id: PathId
) -> Response:
    """The same CSV as ``/api/v1/recalls/{id}/reach.csv``, for a signed-in person."""
    found = _recall(db, viewer, recall_id)
    reach = read_of(reaching.reach(db, keyring, reaching.of_recall(found)))
    return finish(request, csv_of(reach, f"recall-{recall_id}-reach.csv"))


@router.post("/console/recalls/{recall_id}/end")
def end(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    issuing: IssuingDep,
    keyring: KeyringDep,
    recall_id: PathId,
) -> Response:
    found = _recall(db, viewer, recall_id)
    if found.ended_at is not None:
        refused = "this recall has already ended"
        return _detail(request, viewer, db, keyring, found, refused=refused, status=409)
    if found.announced_by_id != viewer.org.id:
        # The brand sees a regulator's recall of its goods but may not lift it (the service
        # answers NotFound to anyone but the announcer and the oversight roles).
        refused = "only whoever announced a recall ends it"
        return _detail(request, viewer, db, keyring, found, refused=refused, status=403)
    service.end_recall(db, issuing, viewer.org, recall_id)
    audit.record(
        db,
        viewer.actor,
        "recall.end",
        organization_id=viewer.org.id,
        target=f"recall {found.id} ({found.product.gtin})",
    )
    return see_other(request, f"/console/recalls/{recall_id}?done=ended")
