from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from traceseal.bounds import MAX_ID

Text = Annotated[str, Field(max_length=200)]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gtin: str = Field(description="GTIN-8, -12, -13 or -14; stored as GTIN-14.", max_length=14)
    name: Text = Field(min_length=1)
    brand: Text = ""
    category: Text = ""
    specification: str = Field("", max_length=500)
    image_url: str = Field("", max_length=1000)
    scan_limit: int = Field(5, ge=1, le=1000, description="Queries above this are suspicious.")
    organization_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Operator only: the enterprise the product belongs to."
    )


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    brand: Text | None = None
    category: Text | None = None
    specification: Annotated[str, Field(max_length=500)] | None = None
    image_url: Annotated[str, Field(max_length=1000)] | None = None
    scan_limit: Annotated[int, Field(ge=1, le=1000)] | None = None


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    gtin: str
    name: str
    brand: str
    category: str
    specification: str
    image_url: str
    scan_limit: int
    created_at: datetime


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=20, description="GS1 AI (10) batch/lot number.")
    production_date: date | None = None
    expiry_date: date | None = None
    quantity: int | None = Field(None, ge=0, le=MAX_ID)

    @model_validator(mode="after")
    def _dates_in_order(self) -> BatchCreate:
        if self.production_date and self.expiry_date and self.expiry_date < self.production_date:
            raise ValueError("expiry_date is before production_date")
        return self


class BatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    gtin: str
    lot: str
    production_date: date | None
    expiry_date: date | None
    quantity: int | None
    created_at: datetime
