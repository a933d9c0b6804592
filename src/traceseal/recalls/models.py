"""Recalls: a brand owner or a regulator takes batches (or all of a GTIN) off the market."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime
from traceseal.orgs.models import Organization
from traceseal.registry.models import Batch, Product


class Recall(Base):
    __tablename__ = "recalls"
    __table_args__ = (Index("ix_recalls_product_id_ended_at", "product_id", "ended_at"),)

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

    product: Mapped[Product] = relationship()
    batch: Mapped[Batch | None] = relationship()
    announced_by: Mapped[Organization] = relationship()
