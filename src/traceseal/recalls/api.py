"""``/api/v1/recalls``: brand owners and regulators announce recalls; anyone may read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from traceseal.orgs.deps import Caller
from traceseal.quality.deps import IssuingDep
from traceseal.recalls import service
from traceseal.recalls.models import Recall
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(prefix="/api/v1/recalls", tags=["recalls"])


class RecallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(max_length=32)
    lots: list[str] = Field(default_factory=list, max_length=1000, description="Empty: all.")
    reason: str = Field(max_length=4000)
    instructions: str = Field(max_length=4000, description="What consumers should do.")
    contact: str = Field(default="", max_length=200)


class RecallRead(BaseModel):
    id: int
    gtin: str
    lot: str | None
    production_date: date | None
    reason: str
    instructions: str
    contact: str
    announced_by: str
    announced_at: datetime
    ended_at: datetime | None
    record: int | None = Field(description="The signed announcement: /api/v1/quality/records/{id}.")
    leaf_index: int | None = Field(description="The announcement's log leaf.")

    @classmethod
    def of(cls, recall: Recall) -> RecallRead:
        return cls(
            id=recall.id,
            gtin=recall.product.gtin,
            lot=None if recall.batch is None else recall.batch.lot,
            production_date=None if recall.batch is None else recall.batch.production_date,
            reason=recall.reason,
            instructions=recall.instructions,
            contact=recall.contact,
            announced_by=recall.announced_by.name,
            announced_at=recall.announced_at,
            ended_at=recall.ended_at,
            record=recall.record_id,
            leaf_index=None if recall.record is None else recall.record.leaf_index,
        )


@router.post("", status_code=201, response_model=list[RecallRead])
def announce(
    body: RecallCreate, session: SessionDep, caller: Caller, issuing: IssuingDep
) -> list[RecallRead]:
    """Recall lots of a product (or all of it): their codes then verify as ``recalled``.

    Each lot's announcement is signed with the announcer's key and logged."""
    recalls = service.announce(
        session,
        issuing,
        caller,
        gtin=body.gtin,
        lots=body.lots,
        reason=body.reason,
        instructions=body.instructions,
        contact=body.contact,
    )
    return [RecallRead.of(r) for r in recalls]


@router.get("", response_model=list[RecallRead])
def recalls(
    session: SessionDep,
    gtin: Annotated[str | None, Query(max_length=32)] = None,
    include_ended: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RecallRead]:
    """Recalls in force (public; no API key needed)."""
    found = service.list_recalls(session, gtin=gtin, active_only=not include_ended, limit=limit)
    return [RecallRead.of(r) for r in found]


@router.post("/{recall_id}/end", response_model=RecallRead)
def end(recall_id: PathId, session: SessionDep, caller: Caller, issuing: IssuingDep) -> RecallRead:
    return RecallRead.of(service.end_recall(session, issuing, caller, recall_id))
