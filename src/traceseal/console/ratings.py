"""Regulators and the operator publish enterprises' credit ratings (quality/service.py:
only they write them), signed and in the log like every quality record; the consumer's
result page shows the rating in force."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.console import qualityforms as forms
from traceseal.console.deps import Viewer, check_csrf, console_language, of_kind
from traceseal.console.menu import MenuItem
from traceseal.console.render import page, see_other
from traceseal.orgs.models import Role
from traceseal.orgs.service import list_organizations
from traceseal.people import audit
from traceseal.quality import listing, service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.models import Kind
from traceseal.quality.rules import Grade
from traceseal.quality.schemas import CreditRatingCreate
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: Who rates enterprises' credit (quality/service.py WRITERS[Kind.CREDIT]).
RATERS = frozenset({Role.REGULATOR, Role.OPERATOR})
RaterDep = Annotated[Viewer, Depends(of_kind(*RATERS))]
GRADES: tuple[str, ...] = get_args(Grade)

MENU = (MenuItem("/console/credit-ratings", "发布信用评级", "Publish ratings", RATERS, order=12),)
Text = Annotated[str, Form(max_length=20)]


@router.get("/console/credit-ratings")
def ratings(request: Request, viewer: RaterDep, db: SessionDep, before: Before = None) -> Response:
    rows = listing.records(db, (Kind.CREDIT,), issuer=viewer.org.id, before=before)
    path = request.url.path
    context = {
        "rows": rows.items,
        "older": f"{path}?before={rows.older}" if rows.older else None,
        "first": path if before else None,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "ratings/list.html", context, viewer=viewer)


def _form(
    request: Request,
    viewer: Viewer,
    db: SessionDep,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    to_sign: str = "",
    status: int = 200,
) -> Response:
    context = {
        "errors": errors,
        "form": form,
        "to_sign": to_sign,
        "keys": forms.active_keys(db, viewer.org),
        "enterprises": list_organizations(db, Role.ENTERPRISE),
        "grades": GRADES,
    }
    return page(request, "ratings/new.html", context, viewer=viewer, status=status)


@router.get("/console/credit-ratings/new")
def new_rating_form(request: Request, viewer: RaterDep, db: SessionDep) -> Response:
    return _form(request, viewer, db, form={}, errors={})


@router.post("/console/credit-ratings/new")
def new_rating(
    request: Request,
    viewer: RaterDep,
    db: SessionDep,
    issuing: IssuingDep,
    enterprise: Text = "",
    grade: Text = "",
    valid_from: Text = "",
    valid_until: Text = "",
    signing_key: Text = "",
    signature: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    zh = console_language(request) == "zh-CN"
    form = {
        "enterprise": enterprise,
        "grade": grade,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "signing_key": signing_key,
        "signature": signature,
    }
    to_sign = ""
    try:
        body = CreditRatingCreate(
            enterprise=enterprise or 0,
            grade=grade,
            valid_from=valid_from,
            valid_until=valid_until,
            signature=forms.detached(signing_key, signature),
        )
    except ValidationError as exc:
        errors = forms.schema_errors(exc, zh, "valid_until")
    else:
        record, errors, to_sign = forms.attempt(
            db,
            lambda: service.create_credit_rating(db, issuing, viewer.org, body),
            zh,
            "enterprise",
        )
        if record is not None:
            audit.record(
                db,
                viewer.actor,
                "credit_rating.publish",
                organization_id=viewer.org.id,
                target=f"credit rating {body.grade} of enterprise {body.enterprise}",
                details={"record": record.id, "grade": body.grade},
            )
            return see_other(request, "/console/credit-ratings?done=published")
    return _form(request, viewer, db, form=form, errors=errors, to_sign=to_sign, status=422)
