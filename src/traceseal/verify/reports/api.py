"""``/api/v1/reports``: consumers report suspected fakes; brand owners and the operator read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from traceseal.config import Settings
from traceseal.errors import InvalidInput
from traceseal.orgs.deps import Caller
from traceseal.verify.deps import ClientDep, VerifierDep
from traceseal.verify.reports.schemas import ReportCreated, ReportRead
from traceseal.verify.reports.service import ReportInput, get_photo, list_reports
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
    report_id = verifier.report(data, client)
    return ReportCreated(id=report_id, message=THANKS[language(request)])


@router.get("/api/v1/reports", response_model=list[ReportRead])
def reports(
    session: SessionDep,
    caller: Caller,
    before: Annotated[int | None, Query(description="Only reports with a smaller id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReportRead]:
    """Reports about the caller's codes (enterprise), or all of them (operator, regulator)."""
    return [ReportRead.of(r) for r in list_reports(session, caller, before=before, limit=limit)]


@router.get("/api/v1/reports/{report_id}/photo", response_class=Response)
def report_photo(report_id: PathId, session: SessionDep, caller: Caller) -> Response:
    photo = get_photo(session, caller, report_id)
    return Response(
        photo.data,
        media_type=photo.media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
