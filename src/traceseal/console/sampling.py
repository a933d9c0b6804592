"""A regulator publishes the sampling results of its market checks (quality/service.py:
only regulators write them), signed and in the log like every quality record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from traceseal.bounds import MAX_ID
from traceseal.console import qualityforms as forms
from traceseal.console.deps import RegulatorDep, check_csrf, console_language
from traceseal.console.menu import only
from traceseal.console.render import page, see_other
from traceseal.orgs.models import Role
from traceseal.people import audit
from traceseal.quality import listing, service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.models import Kind
from traceseal.quality.schemas import SamplingResultCreate
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]

MENU = (
    only(Role.REGULATOR, "/console/sampling-results", "发布抽检结果", "Publish sampling", order=10),
)


@router.get("/console/sampling-results")
def sampling_results(
    request: Request, viewer: RegulatorDep, db: SessionDep, before: Before = None
) -> Response:
    rows = listing.records(db, (Kind.SAMPLING,), issuer=viewer.org.id, before=before)
    path = request.url.path
    context = {
        "rows": rows.items,
        "older": f"{path}?before={rows.older}" if rows.older else None,
        "first": path if before else None,
        "done": request.query_params.get("done", ""),
    }
    return page(request, "oversight/sampling_mine.html", context, viewer=viewer)


@router.get("/console/sampling-results/new")
def new_sampling_form(request: Request, viewer: RegulatorDep, db: SessionDep) -> Response:
    context = {"errors": {}, "form": {}, "to_sign": "", "keys": forms.active_keys(db, viewer.org)}
    return page(request, "oversight/sampling_new.html", context, viewer=viewer)


@router.post("/console/sampling-results/new")
def new_sampling(
    request: Request,
    viewer: RegulatorDep,
    db: SessionDep,
    issuing: IssuingDep,
    campaign: Annotated[str, Form(max_length=200)] = "",
    gtin: Annotated[str, Form(max_length=32)] = "",
    lot: Annotated[str, Form(max_length=20)] = "",
    result: Annotated[str, Form(max_length=10)] = "",
    details: Annotated[str, Form(max_length=4000)] = "",
    published_on: Annotated[str, Form(max_length=10)] = "",
    signing_key: Annotated[str, Form(max_length=20)] = "",
    signature: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    zh = console_language(request) == "zh-CN"
    to_sign = ""
    try:
        body = SamplingResultCreate(
            campaign=campaign,
            gtin=gtin,
            lot=lot.strip() or None,
            result=result,
            details=details,
            published_on=published_on,
            signature=forms.detached(signing_key, signature),
        )
    except ValidationError as exc:
        errors = forms.schema_errors(exc, zh, "gtin")
    else:
        record, errors, to_sign = forms.attempt(
            db, lambda: service.create_sampling_result(db, issuing, viewer.org, body), zh, "gtin"
        )
        if record is not None:
            audit.record(
                db,
                viewer.actor,
                "sampling_result.publish",
                organization_id=viewer.org.id,
                target=f"sampling result {record.number}",
                details={"record": record.id, "gtin": body.gtin},
            )
            return see_other(request, "/console/sampling-results?done=published")
    form = {
        "campaign": campaign,
        "gtin": gtin,
        "lot": lot,
        "result": result,
        "details": details,
        "published_on": published_on,
        "signing_key": signing_key,
        "signature": signature,
    }
    context = {
        "errors": errors,
        "form": form,
        "to_sign": to_sign,
        "keys": forms.active_keys(db, viewer.org),
    }
    return page(request, "oversight/sampling_new.html", context, viewer=viewer, status=422)
