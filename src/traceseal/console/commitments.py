"""A brand publishes a quality commitment or standard self-declaration: the same service as
``POST /api/v1/commitments`` (quality/service.py), signed with the platform's managed key as
the API does when no signature is sent, logged, and public on the quality directory."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from traceseal.console import qualityforms as forms
from traceseal.console.deps import BrandDep, check_csrf, console_language
from traceseal.console.menu import brand
from traceseal.console.render import page, see_other
from traceseal.people import audit
from traceseal.quality import service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.schemas import CommitmentCreate
from traceseal.web.deps import SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

MENU = (brand("/console/quality/commitments/new", "质量承诺", "Quality commitment", order=35),)

PATH = "/console/quality/commitments/new"
Short = Annotated[str, Form(max_length=300)]
Long = Annotated[str, Form(max_length=20_000)]


def _form(
    request: Request, viewer: BrandDep, form: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    done = request.query_params.get("done", "")
    context = {"form": form, "errors": errors, "done": done if done.isdigit() else ""}
    return page(request, "brandevents/commitment_new.html", context, viewer=viewer, status=status)


@router.get(PATH)
def new_commitment_form(request: Request, viewer: BrandDep) -> Response:
    return _form(request, viewer, {"made_on": date.today().isoformat()}, {}, 200)


@router.post(PATH)
def new_commitment(
    request: Request,
    viewer: BrandDep,
    db: SessionDep,
    issuing: IssuingDep,
    title: Short = "",
    text: Long = "",
    standards: Long = "",
    made_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    zh = console_language(request) == "zh-CN"
    form = {"title": title, "text": text, "standards": standards, "made_on": made_on}
    try:
        body = CommitmentCreate(
            title=title.strip(),
            text=text.strip(),
            standards=forms.lines(standards),
            made_on=made_on,
        )
    except ValidationError as exc:
        return _form(request, viewer, form, forms.schema_errors(exc, zh, "title"), 422)
    record, errors, _ = forms.attempt(
        db, lambda: service.create_commitment(db, issuing, viewer.org, body), zh, "title"
    )
    if record is None:
        return _form(request, viewer, form, errors, 422)
    audit.record(
        db,
        viewer.actor,
        "commitment.publish",
        organization_id=viewer.org.id,
        target=f"commitment {record.id} ({body.title[:100]})",
        details={"record": record.id, "standards": body.standards},
    )
    return see_other(request, f"{PATH}?done={record.id}")
