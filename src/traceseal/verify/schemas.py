from __future__ import annotations

from datetime import date, datetime
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from traceseal.epcis.trace import journey
from traceseal.quality import labels
from traceseal.quality.facts import Fact
from traceseal.verify.messages import message
from traceseal.verify.models import Channel
from traceseal.verify.service import RecallFacts, Verification

#: ``date`` under another name, for the model whose field is called ``date``.
Day: TypeAlias = date


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
    channel: str | None = Field(
        default=None,
        description="How the first query came: qr, web, api, sms, wechat, ... (None: "
        "first queried before channels were recorded).",
    )


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
    signed_by: str = Field("", description="Who announced the recall and signed it.")
    record: int | None = Field(None, description="The signed announcement's record id.")
    leaf_index: int | None = None

    @classmethod
    def of(cls, recall: RecallFacts) -> RecallSummary:
        return cls(
            reason=recall.reason,
            instructions=recall.instructions,
            contact=recall.contact,
            announced_at=recall.announced_at,
            signed_by=recall.signed_by,
            record=recall.record,
            leaf_index=recall.leaf_index,
        )


class QualityFactRead(BaseModel):
    type: str = Field(description="certificate, inspection_report, sampling_result, ...")
    record: int = Field(description="GET /api/v1/quality/records/{record}: the signed record.")
    label: str = Field(description="The fact in the answer's language.")
    status: str = Field(description="valid, expired, suspended, withdrawn; pass, fail; a grade.")
    status_label: str
    date: Day | None
    valid_until: Day | None
    signed_by: str = Field(description="The issuing organisation.")
    attestation: str = Field(description="'signed by X, in the log at index N', localised.")
    leaf_index: int | None
    proof: str = Field(description="The record's inclusion proof.")
    warning: bool

    @classmethod
    def of(cls, fact: Fact, lang: str) -> QualityFactRead:
        return cls(
            type=fact.kind,
            record=fact.record,
            label=labels.label(fact, lang),
            status=fact.status,
            status_label=labels.status_name(fact.status, lang),
            date=fact.on,
            valid_until=fact.valid_until,
            signed_by=fact.signed_by,
            attestation=labels.signed_by(fact.signed_by, fact.leaf_index, lang),
            leaf_index=fact.leaf_index,
            proof=f"/api/v1/quality/records/{fact.record}/proof",
            warning=fact.warning,
        )


class ProgrammeSummary(BaseModel):
    id: int
    name: str = Field(description="In the answer's language.")


class QualitySection(BaseModel):
    certificates: list[QualityFactRead]
    inspection: QualityFactRead | None = Field(description="The latest inspection report.")
    sampling: list[QualityFactRead]
    credit: QualityFactRead | None
    commitments: list[QualityFactRead]
    programme: ProgrammeSummary | None = Field(description="The label programme of the run.")
    recalls: list[RecallSummary] = Field(description="Recalls in force for this item.")
    warnings: list[str] = Field(description="Expired, suspended, failed or recalled, localised.")

    @classmethod
    def of(cls, result: Verification, lang: str) -> QualitySection | None:
        quality = result.quality
        if quality is None:
            return None
        warnings = [labels.warning(fact, lang) for fact in quality.warnings]
        if result.recall is not None:
            warnings.insert(
                0,
                "该批次已被召回。" if lang == "zh-CN" else "This batch has been recalled.",
            )
        programme = quality.programme

        def read(fact: Fact | None) -> QualityFactRead | None:
            return None if fact is None else QualityFactRead.of(fact, lang)

        return cls(
            certificates=[QualityFactRead.of(f, lang) for f in quality.certificates],
            inspection=read(quality.inspection),
            sampling=[QualityFactRead.of(f, lang) for f in quality.sampling],
            credit=read(quality.credit),
            commitments=[QualityFactRead.of(f, lang) for f in quality.commitments],
            programme=(
                None
                if programme is None
                else ProgrammeSummary(id=programme.id, name=labels.programme_name(programme, lang))
            ),
            recalls=[] if result.recall is None else [RecallSummary.of(result.recall)],
            warnings=warnings,
        )


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
    quality: QualitySection | None = Field(
        description="Signed quality facts about the product (active codes of a known product)."
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
                else FirstScan(
                    at=result.first_scan_at,
                    region=result.first_region,
                    channel=result.first_channel,
                )
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
            recall=None if recall is None else RecallSummary.of(recall),
            journey=(
                []
                if result.trace is None
                else [
                    JourneyStep(**step) for step in journey(result.trace, lang, names=result.places)
                ]
            ),
            quality=QualitySection.of(result, lang),
            message=message(result, lang),
        )


class TradeCheckRead(BaseModel):
    """One authenticated check of a code by a shop, distributor or brand."""

    id: int
    code: str
    checked_at: datetime
    verdict: str
    region: str | None = Field(description="GB/T 2260 code of where the check was made.")
    checker: str | None = Field(
        description="Who checked; null when it is neither the brand nor its distributor."
    )
    partner: bool = Field(
        description="The checker is the brand or a distributor it registered: the check is "
        "evidence of where the goods are."
    )
