"""Per-code risk state: what the signals need to remember between two scans of a code.

One row per code that was scanned with something to remember, keyed like
``scanned_codes`` so both can be hash-distributed together (PRODUCT.md, decision 4).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import WITHOUT_ROWID, Base, BigId, UtcDateTime


class CodeRisk(Base):
    __tablename__ = "code_risk"
    __table_args__ = WITHOUT_ROWID

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: Distinct devices seen, as the first 8 hex digits of each hash, comma-separated
    #: (at most risk.signals.DEVICE_MEMORY of them: enough to pass any sane limit).
    devices: Mapped[str] = mapped_column(String(200), default="")
    #: The last scan that had a place: when, and where (centroid of its region or its
    #: coordinates), for impossible travel.
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_lat: Mapped[float | None] = mapped_column(Float, default=None)
    last_lon: Mapped[float | None] = mapped_column(Float, default=None)
    last_region: Mapped[str | None] = mapped_column(String(6), default=None)
    #: Weighted scans outside the expected territory (risk.signals.DIVERSION_WEIGHTS).
    diversion: Mapped[float] = mapped_column(Float, default=0.0)
    #: The highest clone score the code reached.
    score: Mapped[float] = mapped_column(Float, default=0.0)


class DiversionFlow(Base):
    """Scans seen outside their distributor's territory, per day and (distributor → place).

    The diversion evidence of the analytics (docs/analytics.md, "Diversion flows"): one
    upsert per scan that risk evaluation finds outside the territory of the distributor
    the code was meant for, in the verification's own transaction. The expected side is
    the distributor (its territory is read when the flows are); the observed side is the
    scan's province and city (GB/T 2260). The day is China Standard Time, the scan's own.
    Keys a scan lacks are 0 rather than NULL so the upsert always conflicts; no foreign
    keys, so old scan rows and distributors can go while their counts stay.
    """

    __tablename__ = "diversion_flows"
    __table_args__ = (Index("ix_diversion_flows_organization_day", "organization_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    distributor_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    city: Mapped[str] = mapped_column(String(6), primary_key=True)
    #: Scans outside the territory, and how many of them were trade checks.
    scans: Mapped[int] = mapped_column(BigInteger)
    trade: Mapped[int] = mapped_column(BigInteger)
