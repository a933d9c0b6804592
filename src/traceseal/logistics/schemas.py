from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from traceseal.bounds import MAX_ID


class DistributorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="The distributor's name.")
    glns: list[str] = Field(
        default_factory=list, max_length=200, description="GLNs of its sites (13 digits)."
    )
    territory: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="GB/T 2260 codes it may sell in; a province covers its cities.",
    )
    organization_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Operator only: the enterprise the distributor is for.",
    )


class TerritoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(max_length=500)


class LocationsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    glns: list[str] = Field(max_length=200)


class AssignmentCreate(BaseModel):
    """Codes given to the distributor: part of a run, or a whole batch."""

    model_config = ConfigDict(extra="forbid")

    run: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A code run of the enterprise."
    )
    range: str | None = Field(
        default=None,
        max_length=64,
        description="A-B (1-based positions in the run) or CODE-CODE; default the whole run.",
    )
    gtin: str | None = Field(default=None, max_length=32)
    lot: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _one_kind(self) -> AssignmentCreate:
        if (self.run is None) == (self.lot is None):
            raise ValueError("give either run (and range) or gtin and lot")
        if self.lot is not None and self.gtin is None:
            raise ValueError("a lot needs its gtin")
        return self


class RegionRead(BaseModel):
    code: str
    name: str = Field(description="zh-CN, with the names of the divisions above it.")
    name_en: str


class AssignmentRead(BaseModel):
    id: int
    slot: int | None
    start: int | None
    stop: int | None
    batch_id: int | None
    created_at: datetime


class DistributorRead(BaseModel):
    id: int
    enterprise_id: int
    organization_id: int
    name: str
    glns: list[str]
    territory: list[RegionRead]
    assignments: list[AssignmentRead]
    created_at: datetime
    api_key: str | None = Field(
        default=None, description="The new organisation's API key, only when it was created."
    )
