"""Seal-code storage: one row per key slot, one per issued run, a few per lifecycle change.

Codes themselves are never stored (PRODUCT.md, decision 1): a run of a hundred million codes
is one ``code_runs`` row plus one ``code_segments`` row.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from traceseal.db import Base, BigId, UtcDateTime, utcnow
from traceseal.orgs.models import Organization
from traceseal.registry.models import Batch, Product


class KeySlot(Base):
    """A 3-digit key slot: one AES-256 key, one organisation, ``capacity`` sequence numbers."""

    __tablename__ = "key_slots"
    __table_args__ = (
        CheckConstraint("slot >= 0 AND slot <= 999", name="slot_range"),
        CheckConstraint("issued >= 0 AND issued <= capacity", name="issued_range"),
    )

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    capacity: Mapped[int] = mapped_column(BigInteger)
    # The next sequence number to hand out; sequence numbers below it are issued.
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


class CodeRun(Base):
    """Codes ``first .. first + count - 1`` of one slot, issued together."""

    __tablename__ = "code_runs"
    __table_args__ = (
        UniqueConstraint("slot", "first"),
        CheckConstraint("count > 0", name="count_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    slot: Mapped[int] = mapped_column(ForeignKey("key_slots.slot"))
    first: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    pin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: The transparency-log leaf recording the issuance (docs/ledger.md).
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: The label programme the run was issued under (docs/quality.md), if any.
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"), default=None)

    organization: Mapped[Organization] = relationship()
    product: Mapped[Product | None] = relationship()
    segments: Mapped[list[CodeSegment]] = relationship(
        back_populates="run", order_by="CodeSegment.start"
    )


class CodeState(enum.StrEnum):
    ISSUED = "issued"  # printed or printable, not yet on a product: not genuine
    ACTIVE = "active"  # bound to a batch: verifies as genuine
    VOID = "void"  # lost or stolen labels: never genuine again


_STATE_VALUES = ", ".join(f"'{s.value}'" for s in CodeState)


class CodeSegment(Base):
    """Sequence numbers ``start .. stop - 1`` of a slot share one lifecycle state.

    The segments of a run tile it exactly; activating or voiding a sub-range splits a
    segment. Verification finds the one segment holding a sequence number by the
    ``(slot, start)`` index: the greatest ``start`` not above it.
    """

    __tablename__ = "code_segments"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATE_VALUES})", name="state"),
        CheckConstraint("stop > start", name="nonempty"),
        Index("ix_code_segments_slot_start", "slot", "start", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("code_runs.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(BigInteger)
    stop: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10), default=CodeState.ISSUED.value)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    reason: Mapped[str] = mapped_column(String(500), default="")
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    run: Mapped[CodeRun] = relationship(back_populates="segments")
    batch: Mapped[Batch | None] = relationship()


class ExportState(enum.StrEnum):
    QUEUED = "queued"  # waiting for a server process's export runner
    RUNNING = "running"  # a worker process is writing the file
    DONE = "done"  # the file is complete: GET .../result
    FAILED = "failed"  # stopped, with ``error`` saying why (shutdown, crash, a bad run)


_EXPORT_STATES = ", ".join(f"'{s.value}'" for s in ExportState)


class ExportJob(Base):
    """One export of a run's codes to a file in DATA_DIR/exports, built off the write path.

    The row is the job's only shared state, so any server process can answer for it: the
    process running it writes ``done`` and ``heartbeat_at`` about once a second, and a job
    whose heartbeat stops is failed by whichever process notices (codes/jobs.py). A client
    cancels by deleting the row; the runner sees its update match nothing and stops.
    """

    __tablename__ = "export_jobs"
    __table_args__ = (
        CheckConstraint(f"state IN ({_EXPORT_STATES})", name="state"),
        CheckConstraint("format IN ('csv', 'zip', 'pdf')", name="format"),
        # Runners claim the oldest queued job.
        Index("ix_export_jobs_state_id", "state", "id"),
        # Deleted jobs' ids are never reused (SQLite would reuse the highest one): a client
        # still polling a job it deleted must not find another job there, and a new job's
        # file name must not meet the leftovers of an old one.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Who asked: only that organisation sees the job (not the run's owner, not the operator).
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("code_runs.id"), index=True)
    format: Mapped[str] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(10), default=ExportState.QUEUED.value)
    #: Codes written so far, of ``total`` (the run's count).
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    #: Bytes of the finished file.
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: A PDF from the label designer: the design its worker draws (codes/design.py
    #: ``Design.to_dict``); None for the API's fixed A4 sheet.
    design: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    run: Mapped[CodeRun] = relationship()
