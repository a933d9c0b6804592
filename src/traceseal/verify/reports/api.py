"""``/api/v1/reports``: consumers report suspected fakes; brand owners and the operator read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from traceseal.config import Settings
from traceseal.errors import InvalidInput
from traceseal.orgs.deps import Caller
from traceseal.orgs.models import Organization
from traceseal.people import audit
from traceseal.verify.deps import ClientDep, VerifierDep
from traceseal.verify.reports import workflow
from traceseal.verify.reports.models import CounterfeitReport, ReportState
from traceseal.verify.reports.schemas import ReplyWrite, ReportCreated, ReportMove, ReportRead
from traceseal.verify.reports.service import ReportInput, get_photo, get_report, list_reports
from traceseal.web.bodylimit import body_limit
from traceseal.web.deps import PathId, SessionDep
from traceseal.web.negotiation import language

router = APIRouter(tags=["reports"])

THANKS = {
    "zh-CN": "感谢您的举报，品牌方和平台已收到。",
    "en": "Thank you: the brand owner and the platform have your report.",
}


def report_body_limit(settings: Settings) -> int:
    """A report's body: the photo plus its form fields."""
    return settings.report_photo_max_bytes + 64 * 1024


def read_photo(upload: UploadFile | None, limit: int) -> bytes | None:
    """The uploaded photo, reading at most one byte past ``limit`` (the service refuses it)."""
    if upload is None or not upload.filename:
        return None
    data = upload.file.read(limit + 1)
    if not data:
        return None
    if len(data) > limit:
        raise InvalidInput(f"the photo is over the limit of {limit} bytes", field="photo")
    return data


@router.post("/api/v1/reports", status_code=201, response_model=ReportCreated)
@body_limit(report_body_limit)
def file_report(
    request: Request,
    verifier: VerifierDep,
    client: ClientDep,
    code: Annotated[str, Form(max_length=64)],
    where_bought: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=10000)] = "",
    contact: Annotated[str, Form(max_length=1000)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> ReportCreated:
    """Report a suspected fake (multipart form; no API key). The photo is optional."""
    data = ReportInput(
        code=code,
        where_bought=where_bought,
        description=description,
        contact=contact,
        photo=read_photo(photo, verifier.max_photo_bytes),
    )
    receipt = verifier.file_report(data, client)
    status_url = request.app.state.settings.public_url + receipt.status_path
    return ReportCreated(id=receipt.id, message=THANKS[language(request)], status_url=status_url)


@router.get("/api/v1/reports", response_model=list[ReportRead])
def reports(
    session: SessionDep,
    caller: Caller,
    before: Annotated[int | None, Query(description="Only reports with a smaller id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    state: ReportState | None = None,
) -> list[ReportRead]:
    """Reports about the caller's codes (enterprise), or all of them (operator, regulator)."""
    found = list_reports(
        session, caller, before=before, limit=limit, state=None if state is None else state.value
    )
    return [ReportRead.of(r) for r in found]


@router.get("/api/v1/reports/{report_id}", response_model=ReportRead)
def report(report_id: PathId, session: SessionDep, caller: Caller) -> ReportRead:
    return ReportRead.of(get_report(session, caller, report_id))


_WORKFLOW_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "A reader (a regulator) may not act on the report."},
    404: {"description": "No such report, or one the caller may not see."},
    409: {"description": "The workflow does not allow this step from the report's state."},
}


def _audited(
    session: SessionDep, caller: Organization, report: CounterfeitReport, action: str
) -> ReportRead:
    audit.record(
        session,
        audit.Actor(None, f"api:{caller.name}"[:254]),
        action,
        organization_id=report.organization_id,
        target=f"report {report.id}",
        details={"state": report.state, "replied": bool(report.reply)},
    )
    return ReportRead.of(report)


def _move(
    session: SessionDep,
    caller: Organization,
    report_id: int,
    to: ReportState,
    body: ReportMove | None,
) -> ReportRead:
    reply = "" if body is None else body.reply
    found = workflow.move(session, caller, report_id, to, reply=reply)
    return _audited(session, caller, found, f"report.{to.value}")


@router.post(
    "/api/v1/reports/{report_id}/investigate", response_model=ReportRead, responses=_WORKFLOW_ERRORS
)
def investigate(
    report_id: PathId, session: SessionDep, caller: Caller, body: ReportMove | None = None
) -> ReportRead:
    """Take a new report up: ``new`` → ``investigating``."""
    return _move(session, caller, report_id, ReportState.INVESTIGATING, body)


@router.post(
    "/api/v1/reports/{report_id}/resolve", response_model=ReportRead, responses=_WORKFLOW_ERRORS
)
def resolve(
    report_id: PathId, session: SessionDep, caller: Caller, body: ReportMove | None = None
) -> ReportRead:
    """Settle an investigated report: ``investigating`` → ``resolved``, with the reply the
    reporter reads on their status page."""
    return _move(session, caller, report_id, ReportState.RESOLVED, body)


@router.post(
    "/api/v1/reports/{report_id}/reject", response_model=ReportRead, responses=_WORKFLOW_ERRORS
)
def reject(
    report_id: PathId, session: SessionDep, caller: Caller, body: ReportMove | None = None
) -> ReportRead:
    """Turn a report down (``new`` or ``investigating`` → ``rejected``) with a reply saying why."""
    return _move(session, caller, report_id, ReportState.REJECTED, body)


@router.put(
    "/api/v1/reports/{report_id}/reply", response_model=ReportRead, responses=_WORKFLOW_ERRORS
)
def reply(report_id: PathId, body: ReplyWrite, session: SessionDep, caller: Caller) -> ReportRead:
    """Write or rewrite the reply the reporter sees on their status page, in any state."""
    found = workflow.set_reply(session, caller, report_id, body.reply)
    return _audited(session, caller, found, "report.reply")


@router.get("/api/v1/reports/{report_id}/photo", response_class=Response)
def report_photo(report_id: PathId, session: SessionDep, caller: Caller) -> Response:
    photo = get_photo(session, caller, report_id)
    return Response(
        photo.data,
        media_type=photo.media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
