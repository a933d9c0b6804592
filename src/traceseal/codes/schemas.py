from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from traceseal.bounds import MAX_ID
from traceseal.codes.models import CodeState


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
