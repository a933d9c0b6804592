"""Distributors of an enterprise, their locations and territories, and code assignments.

A distributor is an organisation with role ``distributor``; the enterprise's record of it
(``distributors``) holds what the brand owner decided: which GLNs are its locations, which
regions it may sell in, which code ranges or batches it was given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import WITHOUT_ROWID, Base, BigId, UtcDateTime, utcnow


class Distributor(Base):
    __tablename__ = "distributors"
    __table_args__ = (UniqueConstraint("enterprise_id", "organization_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The brand owner whose goods it distributes.
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    #: The distributor's own organisation (role distributor).
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DistributorLocation(Base):
    """A GLN of one of the distributor's sites: EPCIS events naming it move custody there.

    The same GLN may belong to one distributor record per enterprise (a distributor that
    carries two brands), so the key is the pair.
    """

    __tablename__ = "distributor_locations"
    __table_args__ = WITHOUT_ROWID

    gln: Mapped[str] = mapped_column(String(13), primary_key=True)
    distributor_id: Mapped[int] = mapped_column(
        ForeignKey("distributors.id", ondelete="CASCADE"), primary_key=True
    )


class TerritoryRegion(Base):
    """One GB/T 2260 division of a distributor's territory (a province covers its cities)."""

    __tablename__ = "distributor_regions"
    __table_args__ = WITHOUT_ROWID

    distributor_id: Mapped[int] = mapped_column(
        ForeignKey("distributors.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(6), primary_key=True)


class Assignment(Base):
    """Codes given to a distributor without per-item events: a range of a slot, or a batch.

    Exactly one of (``slot``, ``start``, ``stop``) and ``batch_id`` is set. A later
    assignment of an overlapping range wins (the newest row whose range holds the code).
    """

    __tablename__ = "code_assignments"
    __table_args__ = (
        Index("ix_code_assignments_slot_start", "slot", "start"),
        Index("ix_code_assignments_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    distributor_id: Mapped[int] = mapped_column(
        ForeignKey("distributors.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[int | None] = mapped_column(Integer, default=None)
    start: Mapped[int | None] = mapped_column(BigInteger, default=None)
    stop: Mapped[int | None] = mapped_column(BigInteger, default=None)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScanSubmission(Base):
    """One submission of the scanning page (or of a packing line), by its client-made id.

    A phone that lost its connection sends a queued submission again; the second arrival
    must answer what the first did and capture nothing. The key is the pair: ids are the
    client's, so two organisations may happen to choose the same one.
    """

    __tablename__ = "scan_submissions"
    __table_args__ = WITHOUT_ROWID

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    submission_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: What the first arrival answered, as JSON (the answer a replay repeats).
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
