"""Coarser sums of the scan rollups, folded from them per day and month (analytics/fold.py).

The rollups (verify/models.ScanRollup) are kept per hour and per full key as scans arrive;
at tens of millions of scans a year nearly every scan is a row of its own, and a dashboard
that sums a month of them for every brand reads millions of rows. The sums here drop the
hour and all but a few keys, so each dashboard question reads a few thousand rows instead
(docs/analytics.md, "Sums"). Each table holds day rows (``span`` 'day') and month rows
(``span`` 'month', ``day`` the month's first day) of the same key.

They are derived data: folded from the rollups once a day is over, refolded when a late
scan lands in a day already folded (verify/models.StaleDay, marked by the verification
that logged it), and rebuilt with the rollups.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from traceseal.db import Base, BigId

__all__ = [
    "SPANS",
    "CitySums",
    "DeviceSketch",
    "FoldState",
    "HourSums",
    "ProductSums",
    "ProvinceSums",
    "Sums",
    "TotalSums",
]

SPANS = ("day", "month")


class Sums:
    """The time key and the counts every sum table shares (those of ScanRollup)."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    span: Mapped[str] = mapped_column(String(5), primary_key=True)
    scans: Mapped[int] = mapped_column(BigInteger)
    firsts: Mapped[int] = mapped_column(BigInteger)
    repeats: Mapped[int] = mapped_column(BigInteger)
    trade: Mapped[int] = mapped_column(BigInteger)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[object, ...]:  # noqa: N805 - SQLAlchemy's declared_attr
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (
            CheckConstraint("span IN ('day', 'month')", name="span"),
            Index(f"ix_{name}_organization_day", "organization_id", "span", "day"),
            Index(f"ix_{name}_span_day", "span", "day"),
        )


class TotalSums(Sums, Base):
    """Per brand and verdict: the series with no filter, the verdict mix."""

    __tablename__ = "scan_sums_totals"

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class ProductSums(Sums, Base):
    """Per brand, product, channel and verdict: the series, the verdict mix."""

    __tablename__ = "scan_sums_products"

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class ProvinceSums(Sums, Base):
    """Per brand, product, province and verdict: the map, the hot spots."""

    __tablename__ = "scan_sums_provinces"

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class CitySums(Sums, Base):
    """Per brand, city and verdict: a province's cities, a distributor's territory."""

    __tablename__ = "scan_sums_cities"

    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    city: Mapped[str] = mapped_column(String(6), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class HourSums(Sums, Base):
    """Per hour (CST), brand, product, channel and verdict: the hourly series. Day rows
    only: a month of hours is never asked as one."""

    __tablename__ = "scan_sums_hours"

    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)


class DeviceSketch(Base):
    """Distinct devices per brand, product and province: a HyperLogLog sketch (Apache
    DataSketches, lg_k 12: about 1.6 % standard error) of the devices' keyed hashes.

    Folded from the scan log with the sums (analytics/devices.py); a range's count is the
    union of its days' and months' sketches, so a device seen on many days counts once.
    """

    __tablename__ = "scan_devices"
    __table_args__ = (
        CheckConstraint("span IN ('day', 'month')", name="span"),
        Index("ix_scan_devices_organization_day", "organization_id", "span", "day"),
        Index("ix_scan_devices_span_day", "span", "day"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    span: Mapped[str] = mapped_column(String(5), primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    sketch: Mapped[bytes] = mapped_column(LargeBinary)


class FoldState(Base):
    """How far the sums are folded: every day up to ``day`` (CST), but the stale ones."""

    __tablename__ = "rollup_folds"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date | None] = mapped_column(Date, default=None)
