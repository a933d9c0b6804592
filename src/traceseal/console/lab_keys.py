"""A lab's signing keys: which keys its records are signed with, registering a key it
keeps itself, and revoking one.

The platform never sees the private half of a registered key (POST /orgs/me/signing-keys
takes only the public key): the page says how to make a key pair on the lab's own
computer and takes the public key. Records the lab writes here are signed by the
platform's managed key unless the lab chooses its own key and pastes its signature.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from traceseal.console import qualityforms as forms
from traceseal.console.deps import ConsoleError, LabDep, check_csrf, console_language
from traceseal.console.render import page, see_other
from traceseal.errors import DomainError, NotFound
from traceseal.people import audit
from traceseal.quality import service
from traceseal.quality.deps import IssuingDep
from traceseal.quality.signing import list_keys, revoke_key
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


def _context(request: Request, viewer: LabDep, db: SessionDep) -> dict[str, object]:
    return {
        "keys": [forms.key_read(k) for k in list_keys(db, viewer.org.id)],
        "errors": {},
        "form": {},
        "done": request.query_params.get("done", ""),
    }


@router.get("/console/signing-keys")
def signing_keys(request: Request, viewer: LabDep, db: SessionDep) -> Response:
    return page(request, "lab/keys.html", _context(request, viewer, db), viewer=viewer)


@router.post("/console/signing-keys/new")
def add_key(
    request: Request,
    viewer: LabDep,
    db: SessionDep,
    public_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    zh = console_language(request) == "zh-CN"
    try:
        with db.begin_nested():
            key = service.register_key(db, viewer.org, public_key.strip())
    except DomainError as exc:
        context = _context(request, viewer, db)
        context["errors"] = forms.form_error(exc, zh, "public_key")
        context["form"] = {"public_key": public_key}
        return page(request, "lab/keys.html", context, viewer=viewer, status=422)
    audit.record(
        db,
        viewer.actor,
        "signing_key.register",
        organization_id=viewer.org.id,
        target=f"signing key {key.id}",
    )
    return see_other(request, "/console/signing-keys?done=added")


@router.post("/console/signing-keys/{key_id}/revoke")
def revoke(
    request: Request, viewer: LabDep, db: SessionDep, issuing: IssuingDep, key_id: PathId
) -> Response:
    try:
        key = revoke_key(db, viewer.org, key_id, issuing.now)
    except NotFound as exc:
        raise ConsoleError(404, exc.detail) from None
    audit.record(
        db,
        viewer.actor,
        "signing_key.revoke",
        organization_id=viewer.org.id,
        target=f"signing key {key.id}",
    )
    return see_other(request, "/console/signing-keys?done=revoked")
