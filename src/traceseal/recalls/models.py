"""Recalls: a brand owner or a regulator takes batches (or all of a GTIN) off the market."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime
from traceseal.orgs.models import Organization
from traceseal.quality.models import QualityRecord
from traceseal.registry.models import Batch, Product


class Recall(Base):
    __tablename__ = "recalls"
    __table_args__ = (
        Index("ix_recalls_product_id_ended_at", "product_id", "ended_at"),
        # At most one recall in force per lot, and one per whole product: the service checks
        # first for a clear message, and these partial indexes make the second of two
        # concurrent announcements fail on PostgreSQL too (where neither sees the other).
        Index(
            "uq_recalls_active_batch",
            "product_id",
            "batch_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND batch_id IS NOT NULL"),
            postgresql_where=text("ended_at IS NULL AND batch_id IS NOT NULL"),
        ),
        Index(
            "uq_recalls_active_product",
            "product_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL AND batch_id IS NULL"),
            postgresql_where=text("ended_at IS NULL AND batch_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # None: every batch of the product, including batches not registered yet.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    announced_by_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    reason: Mapped[str] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(200), default="")
    announced_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: The signed announcement and its end (quality records, each a log leaf).
    record_id: Mapped[int | None] = mapped_column(ForeignKey("quality_records.id"), default=None)
    end_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_records.id"), default=None
    )

    product: Mapped[Product] = relationship()
    batch: Mapped[Batch | None] = relationship()
    announced_by: Mapped[Organization] = relationship()
    record: Mapped[QualityRecord | None] = relationship(foreign_keys=[record_id])
