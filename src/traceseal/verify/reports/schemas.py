from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from traceseal.verify.reports.models import CounterfeitReport, ReportState
from traceseal.verify.reports.workflow import REPLY_LIMIT


class ReportCreated(BaseModel):
    id: int
    message: str
    status_url: str = Field(
        description="The reporter's own page of the report's progress and the brand's reply. "
        "Given only here: keep it (the platform stores only its digest)."
    )


class ReportMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(
        default="",
        max_length=REPLY_LIMIT,
        description="The answer the reporter sees; needed to resolve or reject (unless one "
        "was written before).",
    )


class ReplyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(min_length=1, max_length=REPLY_LIMIT)


class ReportRead(BaseModel):
    id: int
    reported_at: datetime
    code: str
    organization_id: int | None
    product_id: int | None
    code_status: str
    where_bought: str
    description: str
    contact: str
    photo_url: str | None
    state: ReportState = Field(description="new, investigating, resolved or rejected.")
    reply: str = Field(description="The brand's answer to the reporter (empty: none yet).")
    replied_at: datetime | None

    @classmethod
    def of(cls, report: CounterfeitReport) -> ReportRead:
        return cls(
            id=report.id,
            reported_at=report.reported_at,
            code=report.code,
            organization_id=report.organization_id,
            product_id=report.product_id,
            code_status=report.code_status,
            where_bought=report.where_bought,
            description=report.description,
            contact=report.contact,
            photo_url=(
                None if report.photo_sha256 is None else f"/api/v1/reports/{report.id}/photo"
            ),
            state=ReportState(report.state),
            reply=report.reply,
            replied_at=report.replied_at,
        )
