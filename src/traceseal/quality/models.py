"""Signed quality records, the keys that sign them, and label programmes.

Every record is a signed statement: ``payload`` holds the exact canonical JSON the issuer
signed, so it can be checked byte for byte by anyone with the issuer's public key. The typed
columns beside it (product, dates, outcome...) are what queries and the verification page
need; they are copies of fields of the payload, never more.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import WITHOUT_ROWID, Base, BigId, UtcDateTime, utcnow
from traceseal.orgs.models import Organization
from traceseal.registry.models import Batch, Product


class Kind(enum.StrEnum):
    CERTIFICATE = "certificate"
    INSPECTION = "inspection_report"
    SAMPLING = "sampling_result"
    CREDIT = "credit_rating"
    COMMITMENT = "commitment"
    PROGRAMME = "programme"
    RECALL = "recall"
    RECALL_END = "recall_end"
    #: A certificate suspended, reinstated or withdrawn by its issuer.
    STATUS = "certificate_status"


class CertificateStatus(enum.StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    #: Never stored: a valid certificate past its valid_until reads as expired.
    EXPIRED = "expired"


class SigningKey(Base):
    """An organisation's Ed25519 key. ``wrapped_private`` is None for a key the organisation
    registered itself (it keeps the private half and sends detached signatures)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    wrapped_private: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    organization: Mapped[Organization] = relationship()

    @property
    def managed(self) -> bool:
        return self.wrapped_private is not None


class QualityRecord(Base):
    __tablename__ = "quality_records"
    __table_args__ = (
        # The verification page's lookups: a product's reports and results, newest first...
        Index("ix_quality_records_product_kind_date", "product_id", "kind", "issued_on"),
        # ...and an enterprise's rating and commitments.
        Index("ix_quality_records_enterprise_kind_date", "enterprise_id", "kind", "issued_on"),
        Index("ix_quality_records_issuer_kind_number", "issuer_id", "kind", "number"),
        # Whether an attachment is cited (and so public): GET /api/v1/attachments/{sha256}.
        Index("ix_quality_records_attachment", "attachment"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    #: The enterprise the record is about (certificate holder, rated or sampled enterprise).
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    #: The record a status change or a recall's end refers to.
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_records.id"), default=None, index=True
    )
    #: Certificate or report number, sampling campaign; "" where the kind has none.
    number: Mapped[str] = mapped_column(String(100), default="")
    #: Certificate scheme or credit rating grade; "" where the kind has none.
    scheme: Mapped[str] = mapped_column(String(100), default="")
    #: pass / fail (inspection conclusion, sampling result); a grade for credit ratings.
    outcome: Mapped[str] = mapped_column(String(20), default="")
    #: Stored certificate status (valid, suspended, withdrawn); expiry is computed on read.
    status: Mapped[str] = mapped_column(String(12), default="")
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, default=None)
    attachment: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The canonical JSON (RFC 8785) the issuer signed, as text.
    payload: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    key_id: Mapped[int] = mapped_column(ForeignKey("signing_keys.id"))
    #: Set in the same transaction, once the record has its id (the leaf names it).
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    issuer: Mapped[Organization] = relationship(foreign_keys=[issuer_id])
    enterprise: Mapped[Organization | None] = relationship(foreign_keys=[enterprise_id])
    product: Mapped[Product | None] = relationship()
    batch: Mapped[Batch | None] = relationship()
    key: Mapped[SigningKey] = relationship()
    scopes: Mapped[list[QualityScope]] = relationship(back_populates="record")


class AttachmentUpload(Base):
    """An organisation uploaded the PDF with this SHA-256 (the file itself is on disk,
    quality.attachments). A record may cite only what its issuer uploaded; the same bytes
    uploaded by two labs are one file and two rows."""

    __tablename__ = "quality_attachments"
    __table_args__ = WITHOUT_ROWID

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True, autoincrement=False
    )
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QualityScope(Base):
    """What a certificate covers: a product, or every product of the holder in a category."""

    __tablename__ = "quality_scopes"
    __table_args__ = (Index("ix_quality_scopes_enterprise_category", "enterprise_id", "category"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("quality_records.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id"), default=None, index=True
    )
    category: Mapped[str | None] = mapped_column(String(200), default=None)

    record: Mapped[QualityRecord] = relationship(back_populates="scopes")


class Programme(Base):
    """A label programme the operator runs; ``rules`` is JSON (quality.rules.Rule)."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int] = mapped_column(ForeignKey("quality_records.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    record: Mapped[QualityRecord] = relationship()
