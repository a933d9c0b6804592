"""The brand's supply-chain events: ship goods to a distributor, pack codes into a case,
and the events it recorded, in plain words.

The same service as the scanning page's ``POST /api/v1/scan/submissions`` and
``POST /api/v1/aggregations`` (logistics/scanning.py), which captures through the EPCIS
pipeline: the same validation, the same capture rights (a brand records events about its
own products), one log leaf per event, so a shipment shows in the consumer's journey and
in the distributor's goods. A shipment goes only to a site of one of the brand's own
distributors; another brand's distributor's site is refused exactly like an unknown one.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.codes.deps import KeyringDep
from traceseal.codes.models import CodeRun, CodeSegment, CodeState
from traceseal.codes.service import Keyring, run_cipher
from traceseal.console.deps import BrandDep, check_csrf, console_language
from traceseal.console.menu import brand
from traceseal.console.render import page, see_other
from traceseal.console.words import say
from traceseal.db import utcnow
from traceseal.errors import DomainError, InvalidInput
from traceseal.logistics import reading, scanning
from traceseal.logistics.models import Distributor, DistributorLocation
from traceseal.orgs.models import Organization
from traceseal.people import audit
from traceseal.registry.models import Batch, Product
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (
    brand("/console/events", "供应链事件", "Supply-chain events", order=32),
    brand("/console/events/ship", "发货给经销商", "Ship to a distributor", order=33),
    brand("/console/events/pack", "装箱", "Pack a case", order=34),
)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Short = Annotated[str, Form(max_length=100)]
Lines = Annotated[str, Form(max_length=200_000)]
#: The steps the events page tells: what a brand records about its goods' way to shops.
STEPS = ("packing", *reading.MOVES)
_SPLIT = re.compile(r"[\r\n]+")
_ROW = re.compile(r"row (\d+): (.+)", re.DOTALL)


def _labels(text: str) -> list[str]:
    return [line.strip() for line in _SPLIT.split(text) if line.strip()]


def sites(db: Session, viewer: Organization) -> list[dict[str, str]]:
    """The sites of the brand's own distributors, by distributor name: where it may ship."""
    rows = db.execute(
        select(Organization.name, DistributorLocation.gln)
        .join(Distributor, Distributor.organization_id == Organization.id)
        .join(DistributorLocation, DistributorLocation.distributor_id == Distributor.id)
        .where(Distributor.enterprise_id == viewer.id)
        .order_by(Organization.name, DistributorLocation.gln)
    )
    return [{"name": name, "gln": gln} for name, gln in rows]


def batches(db: Session, viewer: Organization) -> list[dict[str, Any]]:
    """The brand's own batches, newest first: a whole batch may be shipped at once."""
    rows = db.execute(
        select(Batch.id, Product.name, Batch.lot)
        .join(Product, Product.id == Batch.product_id)
        .where(Product.organization_id == viewer.id)
        .order_by(Batch.id.desc())
        .limit(500)
    )
    return [{"id": i, "name": f"{name} · {lot}"} for i, name, lot in rows]


def batch_codes(db: Session, keyring: Keyring, viewer: Organization, batch_id: int) -> list[str]:
    """The active seal codes of one of the brand's batches, at most MAX_SCANS + 1 (one
    more than a shipment may carry, so the caller can tell a batch too big to list)."""
    runs = select(CodeRun.id).where(CodeRun.organization_id == viewer.id)
    segments = db.scalars(
        select(CodeSegment)
        .where(
            CodeSegment.batch_id == batch_id,
            CodeSegment.state == CodeState.ACTIVE.value,
            CodeSegment.run_id.in_(runs),
        )
        .order_by(CodeSegment.id)
    )
    codes: list[str] = []
    for segment in segments:
        wanted = min(segment.stop - segment.start, scanning.MAX_SCANS + 1 - len(codes))
        cipher = run_cipher(db, keyring, segment.run)
        for _, ascii_codes in cipher.iter_ascii(segment.start, wanted):
            codes.extend(row.tobytes().decode("ascii") for row in ascii_codes)
        if len(codes) > scanning.MAX_SCANS:
            break
    return codes


def _field(exc: DomainError, fields: dict[str, str]) -> str:
    return fields.get(exc.field or "", "labels")


# --- shipping -----------------------------------------------------------------------------


def _ship_form(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    form: dict[str, str],
    errors: dict[str, str],
    status: int,
) -> Response:
    context = {
        "form": {"submission": uuid.uuid4().hex} | form,
        "errors": errors,
        "sites": sites(db, viewer.org),
        "batches": batches(db, viewer.org),
        "done": request.query_params.get("done", ""),
    }
    return page(request, "brandevents/ship.html", context, viewer=viewer, status=status)


@router.get("/console/events/ship")
def ship_form(request: Request, viewer: BrandDep, db: SessionDep) -> Response:
    return _ship_form(request, viewer, db, {}, {}, 200)


@router.post("/console/events/ship")
def ship(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    keyring: KeyringDep,
    to: Short = "",
    site: Short = "",
    labels: Lines = "",
    batch: Short = "",
    submission: Short = "",
) -> Response:
    form = {"to": to, "site": site, "labels": labels, "batch": batch, "submission": submission}
    errors: dict[str, str] = {}
    targets = {s["gln"]: s["name"] for s in sites(db, viewer.org)}
    if to.strip() not in targets:
        # Another brand's distributor's site is no more a choice than an unknown one.
        errors["to"] = "choose one of your distributors' sites"
    if not site.strip():
        errors["site"] = "give the GLN of the site the goods leave from"
    scans = _labels(labels)
    if batch.strip():
        mine = {str(b["id"]) for b in batches(db, viewer.org)}
        if batch.strip() not in mine:
            # Another brand's batch is no more a choice than a missing one.
            errors["batch"] = "choose one of your batches"
        else:
            scans += batch_codes(db, keyring, viewer.org, int(batch.strip()))
            if not scans:
                errors["batch"] = "this batch has no active codes"
            elif len(scans) > scanning.MAX_SCANS:
                errors["batch"] = f"at most {scanning.MAX_SCANS} codes at once: ship by cases"
    elif not scans:
        errors["labels"] = "give at least one code or case label, or choose a batch"
    if errors:
        return _ship_form(request, viewer, db, form, errors, 422)
    sub = scanning.Submission(
        submission_id=submission.strip() or uuid.uuid4().hex,
        action=scanning.Action.SHIP,
        location=site.strip(),
        scans=scans,
        destination=to.strip(),
    )
    try:
        # A savepoint: the service records the submission before it reads the labels, and
        # a refused form must leave nothing behind.
        with db.begin_nested():
            result, replayed = scanning.submit(db, keyring, viewer.org, sub, utcnow())
    except DomainError as exc:
        field = _field(exc, {"location": "site", "destination": "to", "scans": "labels"})
        return _ship_form(request, viewer, db, form, {field: exc.detail}, 422)
    if not replayed:
        audit.record(
            db,
            viewer.actor,
            "event.ship",
            organization_id=viewer.org.id,
            target=f"shipment to {targets[to.strip()]} ({to.strip()})",
            details={
                "event_ids": result["event_ids"],
                "from": result["location"],
                "to": to.strip(),
                "labels": len(result["scans"]),
            },
        )
    return see_other(request, f"/console/events?done=shipped&n={len(result['scans'])}")


# --- packing ------------------------------------------------------------------------------


def _pack_form(
    request: Request, viewer: BrandDep, form: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    context = {"form": form, "errors": errors}
    return page(request, "brandevents/pack.html", context, viewer=viewer, status=status)


def _row_said(detail: str, request: Request) -> str:
    """The service numbers rows of parent,child pairs; the form's rows are its code lines
    (each paired with the case), so row N is the Nth code: told in the page's language."""
    found = _ROW.fullmatch(detail)
    if found is None:
        return detail
    if console_language(request) == "zh-CN":
        return f"第 {found[1]} 行：{say(found[2], True)}"
    return f"line {found[1]}: {found[2]}"


@router.get("/console/events/pack")
def pack_form(request: Request, viewer: BrandDep) -> Response:
    return _pack_form(request, viewer, {}, {}, 200)


@router.post("/console/events/pack")
def pack(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    keyring: KeyringDep,
    case: Short = "",
    site: Short = "",
    labels: Lines = "",
) -> Response:
    form = {"case": case, "site": site, "labels": labels}
    errors: dict[str, str] = {}
    if not case.strip():
        errors["case"] = "give the case's SSCC (18 digits)"
    codes = _labels(labels)
    if not codes:
        errors["labels"] = "give at least one code to pack"
    if errors:
        return _pack_form(request, viewer, form, errors, 422)
    try:
        parent = scanning.identify(db, keyring, viewer.org, case)
        if parent.kind != "unit":
            raise InvalidInput("a case is named by its SSCC (18 digits)", field="case")
    except DomainError as exc:
        return _pack_form(request, viewer, form, {"case": exc.detail}, 422)
    try:
        with db.begin_nested():
            result = scanning.pack(
                db,
                keyring,
                viewer.org,
                [(case, code) for code in codes],
                now=utcnow(),
                location=site.strip() or None,
            )
    except DomainError as exc:
        field = _field(exc, {"location": "site", "rows": "labels", "scans": "labels"})
        return _pack_form(request, viewer, form, {field: _row_said(exc.detail, request)}, 422)
    [packed] = result["events"]
    audit.record(
        db,
        viewer.actor,
        "event.pack",
        organization_id=viewer.org.id,
        target=f"case {parent.serial}",
        details={"event_id": packed["event_id"], "items": packed["children"]},
    )
    return see_other(request, f"/console/events?done=packed&n={packed['children']}")


# --- the brand's events -------------------------------------------------------------------


@router.get("/console/events")
def events(request: Request, viewer: BrandDep, db: SessionDep, before: Before = None) -> Response:
    rows = reading.movements(db, viewer.org, steps=STEPS, before=before)
    count = request.query_params.get("n", "")
    context: dict[str, Any] = {
        "rows": rows.items,
        "older": f"/console/events?before={rows.older}" if rows.older else None,
        "first": "/console/events" if before else None,
        "done": request.query_params.get("done", ""),
        "n": count if count.isdigit() else "",
    }
    return page(request, "brandevents/events.html", context, viewer=viewer)
