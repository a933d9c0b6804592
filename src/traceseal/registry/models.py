from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime, utcnow
from traceseal.orgs.models import Organization

#: Verifications of one code above this count are suspicious unless the product says otherwise.
DEFAULT_SCAN_LIMIT = 5


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # A GTIN identifies one trade item worldwide, so it names one product on the platform:
    # the Digital Link path /01/{gtin} must resolve to exactly one brand owner.
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    specification: Mapped[str] = mapped_column(String(500), default="")
    image_url: Mapped[str] = mapped_column(String(1000), default="")
    scan_limit: Mapped[int] = mapped_column(Integer, default=DEFAULT_SCAN_LIMIT)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    batches: Mapped[list[Batch]] = relationship(back_populates="product", order_by="Batch.id")


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("product_id", "lot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # GS1 AI (10): up to 20 characters of GS1 AI encodable character set 82.
    lot: Mapped[str] = mapped_column(String(20))
    production_date: Mapped[date | None] = mapped_column(Date, default=None)
    expiry_date: Mapped[date | None] = mapped_column(Date, default=None)
    quantity: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="batches")
