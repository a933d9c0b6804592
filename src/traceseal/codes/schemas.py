from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from traceseal.bounds import MAX_ID
from traceseal.codes.models import CodeState, ExportState


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(
        None, description="GTIN the codes are for; omit for a run not bound to a product."
    )
    count: int = Field(ge=1, le=MAX_ID, description="Number of codes (1 .. MAX_RUN_SIZE).")
    pin: bool = Field(False, description="Add a scratch-off PIN per code.")
    organization_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Operator only: the enterprise."
    )
    programme: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Label programme id; refused unless the product is eligible.",
    )


class SegmentRead(BaseModel):
    """Positions ``first..last`` (1-based, inclusive) of the run share one state."""

    first: int
    last: int
    state: CodeState
    lot: str | None
    gtin: str | None
    reason: str
    changed_at: datetime


class RunRead(BaseModel):
    run: int
    organization_id: int
    slot: str = Field(description="The 3-digit key slot every code of the run starts with.")
    first: int = Field(description="Sequence number of the run's first code in its slot.")
    count: int
    product: str | None = Field(description="GTIN the run is bound to, if any.")
    pin: bool
    created_at: datetime
    leaf_index: int | None = Field(description="The log leaf recording the issuance.")
    programme: int | None = Field(None, description="The label programme, if any.")
    segments: list[SegmentRead]
    downloads: dict[str, str]


class RangeActivate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=20)
    product: str | None = Field(None, description="GTIN of the lot; needed for unbound runs.")
    range: str | None = Field(
        None, description="A-B (1-based positions) or FIRSTCODE-LASTCODE; omit for all."
    )


class RangeVoid(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    range: str | None = None


class SlotKey(BaseModel):
    slot: str
    key: str = Field(description="AES-256 key, 64 hex digits.")


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "zip", "pdf"] = Field(
        description="csv (code,url[,pin]), zip (QR SVG and PNG per code plus codes.csv) or "
        "pdf (an A4 label sheet, for runs up to PDF_MAX_LABELS)."
    )


class ExportProgress(BaseModel):
    done: int = Field(description="Codes written so far.")
    total: int = Field(description="Codes the file will hold: the run's count.")


class ExportRead(BaseModel):
    """An export job: poll it until ``state`` is done (then GET ``result``) or failed."""

    id: int
    run: int
    format: str
    state: ExportState
    progress: ExportProgress
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: str | None = Field(description="Where to download the file, once state is done.")
    size: int | None = Field(description="Bytes of the finished file.")
    error: str | None = Field(description="Why the job failed, when it did.")
