"""Request and response shapes of the quality records (one family per record type)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from traceseal.bounds import MAX_ID
from traceseal.quality.rules import Grade, Outcome, Rule

_SHA256 = r"^[0-9a-f]{64}$"


class DetachedSignature(BaseModel):
    """An issuer's own signature over the record's payload (docs/quality.md)."""

    model_config = ConfigDict(extra="forbid")

    key: int = Field(ge=1, le=MAX_ID, description="Id of a key the organisation registered.")
    value: str = Field(max_length=100, description="Ed25519 signature, base64.")


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    signature: DetachedSignature | None = Field(
        None, description="Omit to have the platform sign with the issuer's managed key."
    )


class CertificateCreate(_Create):
    scheme: str = Field(min_length=1, max_length=100, description="e.g. CCC.")
    compulsory: bool = Field(description="Compulsory (true) or voluntary certification.")
    number: str = Field(min_length=1, max_length=100)
    holder: int = Field(ge=1, le=MAX_ID, description="Id of the certified enterprise.")
    gtins: list[str] = Field(default_factory=list, max_length=1000)
    categories: list[str] = Field(default_factory=list, max_length=100)
    valid_from: date
    valid_until: date
    attachment: str | None = Field(None, pattern=_SHA256, description="SHA-256 of the PDF.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.gtins and not self.categories:
            raise ValueError("scope: give gtins or categories (or both)")
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class CertificateStatusChange(_Create):
    status: Literal["valid", "suspended", "withdrawn"]
    reason: str = Field(min_length=1, max_length=2000)
    effective: date


class ItemResult(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    requirement: str = Field("", max_length=500)
    result: str = Field(max_length=500)
    conclusion: Outcome


class InspectionReportCreate(_Create):
    number: str = Field(min_length=1, max_length=100)
    gtin: str | None = Field(None, max_length=32)
    lot: str | None = Field(None, max_length=20)
    sample: str = Field("", max_length=1000, description="The sample, if not a product here.")
    enterprise: int | None = Field(
        None, ge=1, le=MAX_ID, description="Whose sample, when there is no GTIN."
    )
    standards: list[str] = Field(min_length=1, max_length=50)
    items: list[ItemResult] = Field(default_factory=list, max_length=500)
    conclusion: Outcome
    tested_on: date
    attachment: str | None = Field(None, pattern=_SHA256)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.gtin is None and not self.sample:
            raise ValueError("give the product's gtin (and lot) or describe the sample")
        if self.lot is not None and self.gtin is None:
            raise ValueError("a lot needs its gtin")
        return self


class SamplingResultCreate(_Create):
    campaign: str = Field(min_length=1, max_length=100)
    gtin: str = Field(max_length=32)
    lot: str | None = Field(None, max_length=20)
    result: Outcome
    details: str = Field("", max_length=4000)
    published_on: date


class CreditRatingCreate(_Create):
    enterprise: int
    grade: Grade
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


class CommitmentCreate(_Create):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10000)
    standards: list[str] = Field(default_factory=list, max_length=50)
    made_on: date


class ProgrammeCreate(_Create):
    name: str = Field(min_length=1, max_length=200, description="Shown in zh-CN.")
    name_en: str = Field("", max_length=200)
    description: str = Field("", max_length=4000)
    rules: Rule


class OrganisationRef(BaseModel):
    id: int
    name: str


class RecordRead(BaseModel):
    """Any signed quality record: the signed payload and where it is in the log."""

    id: int
    type: str
    issuer: OrganisationRef
    status: str = Field(description="certificates: valid, suspended, withdrawn or expired.")
    payload: dict[str, Any] = Field(description="What the issuer signed (docs/quality.md).")
    signature: str = Field(description="Ed25519 over the signed form of payload, base64.")
    key: int = Field(description="The signing key: GET /api/v1/orgs/{issuer}/signing-keys.")
    leaf_index: int | None
    proof: str = Field(description="Where to fetch the record's inclusion proof.")
    attachment: str | None = Field(description="URL of the attached PDF, if any.")
    created_at: datetime


class ProgrammeRead(BaseModel):
    id: int
    name: str
    name_en: str
    description: str
    rules: dict[str, Any]
    record: RecordRead


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(max_length=100, description="Raw Ed25519 public key, base64.")


class KeyRead(BaseModel):
    id: int
    organization_id: int
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="Raw 32-byte public key, base64.")
    managed: bool = Field(description="Held by the platform (true) or by the organisation.")
    created_at: datetime
    revoked_at: datetime | None


class AttachmentRead(BaseModel):
    sha256: str
    size: int
    url: str


class ImportProblem(BaseModel):
    row: int = Field(description="Line number in the file; the header is line 1.")
    field: str
    message: str


class ImportResult(BaseModel):
    type: str
    rows: int
    imported: int
    dry_run: bool
    errors: list[ImportProblem]
