from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from traceseal.epcis.trace import journey
from traceseal.verify.messages import message
from traceseal.verify.models import Channel
from traceseal.verify.service import Verification


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64, description="The 20-digit seal code; spaces and dashes ok.")
    gtin: str | None = Field(default=None, max_length=32, description="GTIN from the label.")
    lot: str | None = Field(default=None, max_length=32, description="Lot from the label.")
    region: str | None = Field(
        default=None, max_length=16, description="GB/T 2260 code of where the client is."
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    channel: Channel = Channel.API


class FirstScan(BaseModel):
    at: datetime
    region: str | None


class ProductSummary(BaseModel):
    gtin: str
    name: str
    brand: str


class BatchSummary(BaseModel):
    lot: str
    production_date: date | None
    expiry: date | None


class OrganizationSummary(BaseModel):
    name: str


class RecallSummary(BaseModel):
    reason: str
    instructions: str
    contact: str
    announced_at: datetime


class JourneyStep(BaseModel):
    time: datetime
    step: str = Field(description="The CBV business step, e.g. shipping.")
    label: str = Field(description="The step in the answer's language.")
    place: str | None
    text: str = Field(description="The whole step as a sentence fragment: 'Shipped to …'.")


class VerificationRead(BaseModel):
    verdict: Literal[
        "genuine",
        "genuine_repeat",
        "suspicious",
        "inactive",
        "void",
        "recalled",
        "not_found",
        "mistyped",
    ]
    code: str | None
    scan_count: int
    first_scan: FirstScan | None
    product: ProductSummary | None
    batch: BatchSummary | None
    organization: OrganizationSummary | None
    reasons: list[str]
    recall: RecallSummary | None
    journey: list[JourneyStep] = Field(
        description="Where the product went, from its EPCIS events, oldest first."
    )
    message: str

    @classmethod
    def of(cls, result: Verification, lang: str) -> VerificationRead:
        product, batch, recall = result.product, result.batch, result.recall
        return cls(
            verdict=result.verdict.value,
            code=result.code,
            scan_count=result.scan_count,
            first_scan=(
                None
                if result.first_scan_at is None
                else FirstScan(at=result.first_scan_at, region=result.first_region)
            ),
            product=(
                None
                if product is None
                else ProductSummary(gtin=product.gtin, name=product.name, brand=product.brand)
            ),
            batch=(
                None
                if batch is None
                else BatchSummary(
                    lot=batch.lot, production_date=batch.production_date, expiry=batch.expiry_date
                )
            ),
            organization=(
                None
                if result.organization is None
                else OrganizationSummary(name=result.organization)
            ),
            reasons=list(result.reasons),
            recall=(
                None
                if recall is None
                else RecallSummary(
                    reason=recall.reason,
                    instructions=recall.instructions,
                    contact=recall.contact,
                    announced_at=recall.announced_at,
                )
            ),
            journey=(
                []
                if result.trace is None
                else [JourneyStep(**step) for step in journey(result.trace, lang)]
            ),
            message=message(result, lang),
        )
