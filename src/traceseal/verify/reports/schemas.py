from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from traceseal.verify.reports.models import CounterfeitReport


class ReportCreated(BaseModel):
    id: int
    message: str


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
        )
