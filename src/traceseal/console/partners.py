"""A brand's distributors, their territories and sites, and the goods shipped to them.

The same services and rules as ``/api/v1/distributors`` (logistics/api.py): a brand reads
and changes only the distributors it registered; another brand's distributor answers 404
exactly like a missing one. Territories are chosen by name (provinces ticked, cities and
districts written), resolved by ``geo.byname`` to GB/T 2260 codes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import Response

from traceseal.alerts.service import list_alerts
from traceseal.bounds import MAX_ID
from traceseal.console.deps import BrandDep, ConsoleError, check_csrf, console_language
from traceseal.console.menu import brand
from traceseal.console.render import page, see_other
from traceseal.errors import Conflict, DomainError, NotFound
from traceseal.geo.byname import find_regions, split_names
from traceseal.geo.regions import table
from traceseal.logistics import reading, service
from traceseal.logistics.models import Distributor
from traceseal.people import audit
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (
    brand("/console/distributors", "经销商", "Distributors", order=30),
    brand("/console/shipments", "发货记录", "Shipments", order=31),
)

Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Name = Annotated[str, Form(max_length=200)]
Lines = Annotated[str, Form(max_length=20_000)]
Provinces = Annotated[list[str], Form(max_length=40)]
_GLN_SPLIT = re.compile(r"[\s,，、;；]+")


def _glns(text: str) -> list[str]:
    return [part for part in _GLN_SPLIT.split(text) if part]


def _provinces() -> list[reading.Region]:
    names = table()
    codes = sorted(code for code, region in names.by_code.items() if region.level == 1)
    return [reading.Region(c, names.by_code[c].name_zh, names.by_code[c].name_en) for c in codes]


def _territory(provinces: list[str], places: str, lang: str) -> tuple[list[str], list[str]]:
    """The codes the form names, and its problems (shown beside the places field)."""
    found = find_regions(split_names(places), lang)
    codes = list(dict.fromkeys([p for p in provinces if p.strip()] + list(found.codes)))
    return codes, list(found.problems)


def _place_names(codes: list[str]) -> str:
    """A territory's cities and districts as the form shows them: names, one per line."""
    names = table()
    return "\n".join(
        names.label(code, "zh-CN").rsplit(" ", 1)[0]
        for code in codes
        if names.by_code.get(code) is None or names.by_code[code].level != 1
    )


def _mine(db: SessionDep, viewer: BrandDep, distributor_id: int) -> Distributor:
    """The brand's own distributor; anything else (another brand's, none) is 404."""
    try:
        distributor = service.get_distributor(db, viewer.org, distributor_id)
    except NotFound:
        raise ConsoleError(404, "no such distributor") from None
    if distributor.enterprise_id != viewer.org.id:
        raise ConsoleError(404, "no such distributor")
    return distributor


def _said(exc: DomainError, name: str) -> str:
    # The service's words name the record's internal id; a person reads the name.
    if isinstance(exc, Conflict) and " is already distributor " in exc.detail:
        return f"{name} is already one of your distributors"
    return exc.detail


@router.get("/console/distributors")
def distributors(
    request: Request, viewer: BrandDep, db: SessionDep, before: Before = None
) -> Response:
    rows = reading.distributor_page(db, viewer.org, before=before)
    context = {
        "rows": rows.items,
        "older": f"/console/distributors?before={rows.older}" if rows.older else None,
        "first": "/console/distributors" if before else None,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "partners/distributors.html", context, viewer=viewer)


def _new_form(
    request: Request, viewer: BrandDep, form: dict[str, Any], errors: dict[str, str], status: int
) -> Response:
    context = {"form": form, "errors": errors, "provinces": _provinces()}
    return page(request, "partners/distributor_new.html", context, viewer=viewer, status=status)


@router.get("/console/distributors/new")
def new_distributor_form(request: Request, viewer: BrandDep) -> Response:
    return _new_form(request, viewer, {"provinces": []}, {}, 200)


@router.post("/console/distributors/new")
def new_distributor(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    name: Name = "",
    glns: Lines = "",
    province: Provinces = [],  # noqa: B006 - FastAPI copies a Form default per request
    places: Lines = "",
) -> Response:
    lang = console_language(request)
    form = {"name": name, "glns": glns, "provinces": province, "places": places}
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "give the distributor's name"
    codes, problems = _territory(province, places, lang)
    if problems:
        errors["places"] = problems[0]
    if errors:
        return _new_form(request, viewer, form, errors, 422)
    try:
        # A savepoint: the service adds the organisation before it checks the sites, and a
        # refused form must leave nothing behind (the request itself still commits).
        with db.begin_nested():
            distributor, key = service.register_distributor(
                db, viewer.org, name, glns=_glns(glns), territory=codes
            )
    except DomainError as exc:
        field = {"territory": "places"}.get(exc.field or "", exc.field or "name")
        return _new_form(request, viewer, form, {field: _said(exc, name.strip())}, 422)
    audit.record(
        db,
        viewer.actor,
        "distributor.register",
        organization_id=viewer.org.id,
        target=f"distributor {distributor.id} ({name.strip()})",
        details={"territory": codes, "glns": _glns(glns), "new_organisation": key is not None},
    )
    if key is None:
        return see_other(request, f"/console/distributors/{distributor.id}?done=registered")
    context = {"distributor": distributor, "name": name.strip(), "key": key}
    return page(request, "partners/registered.html", context, viewer=viewer)


def _detail(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    distributor: Distributor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    facts = service.distributor_facts(db, distributor)
    codes = [r["code"] for r in cast(list[dict[str, str]], facts["territory"])]
    glns = cast(list[str], facts["glns"])
    goods = reading.movements(db, viewer.org, places=frozenset(glns), limit=10) if glns else None
    context = {
        "d": facts,
        "territory": reading.regions_named(codes),
        "provinces": _provinces(),
        # What was sent (after a refusal) over what is stored, form by form.
        "form": {"provinces": codes, "places": _place_names(codes), "glns": "\n".join(glns)}
        | (form or {}),
        "errors": errors or {},
        "goods": goods.items if goods else [],
        "alerts": list_alerts(db, viewer.org, distributor_id=distributor.id, limit=10),
        "done": request.query_params.get("done", ""),
    }
    return page(request, "partners/distributor.html", context, viewer=viewer, status=status)


@router.get("/console/distributors/{distributor_id}")
def distributor_detail(
    request: Request, viewer: BrandDep, db: SessionDep, distributor_id: PathId
) -> Response:
    return _detail(request, viewer, db, _mine(db, viewer, distributor_id))


@router.post("/console/distributors/{distributor_id}/territory")
def territory(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    distributor_id: PathId,
    province: Provinces = [],  # noqa: B006 - FastAPI copies a Form default per request
    places: Lines = "",
    confirm: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    distributor = _mine(db, viewer, distributor_id)
    lang = console_language(request)
    codes, problems = _territory(province, places, lang)
    form = {"provinces": province, "places": places}
    if not problems and not codes and confirm != "empty":
        # An empty form clears the territory: that must be meant, not a slip.
        problems = ["tick a province or name a place (an empty territory is no limit)"]
    if problems:
        return _detail(
            request, viewer, db, distributor, form=form, errors={"places": problems[0]}, status=422
        )
    try:
        service.set_territory(db, distributor, codes)
    except DomainError as exc:
        return _detail(
            request, viewer, db, distributor, form=form, errors={"places": exc.detail}, status=422
        )
    audit.record(
        db,
        viewer.actor,
        "distributor.territory",
        organization_id=viewer.org.id,
        target=f"distributor {distributor.id}",
        details={"territory": codes},
    )
    return see_other(request, f"/console/distributors/{distributor.id}?done=territory")


@router.post("/console/distributors/{distributor_id}/locations")
def locations(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    distributor_id: PathId,
    glns: Lines = "",
) -> Response:
    distributor = _mine(db, viewer, distributor_id)
    try:
        service.set_locations(db, distributor, _glns(glns))
    except DomainError as exc:
        form = {"glns": glns}
        return _detail(
            request, viewer, db, distributor, form=form, errors={"glns": exc.detail}, status=422
        )
    audit.record(
        db,
        viewer.actor,
        "distributor.locations",
        organization_id=viewer.org.id,
        target=f"distributor {distributor.id}",
        details={"glns": _glns(glns)},
    )
    return see_other(request, f"/console/distributors/{distributor.id}?done=locations")


@router.get("/console/shipments")
def shipments(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    before: Before = None,
    step: Annotated[str, Query(max_length=20)] = "",
    distributor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    steps = [step] if step in reading.MOVES else list(reading.MOVES)
    places = None
    if distributor is not None:
        places = reading.glns_of(db, _mine(db, viewer, distributor))
    rows = reading.movements(db, viewer.org, steps=steps, places=places, before=before)
    filters = {"step": step, "distributor": distributor or ""}
    base = "/console/shipments?" + urlencode({k: v for k, v in filters.items() if v})
    context = {
        "rows": rows.items,
        "older": f"{base}&before={rows.older}" if rows.older else None,
        "first": base if before else None,
        "step": step,
        "distributor": distributor,
        "partners": reading.distributor_page(db, viewer.org, limit=500).items,
    }
    return page(request, "partners/shipments.html", context, viewer=viewer)
