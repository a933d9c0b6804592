"""EPCIS storage: capture jobs, one row per event, and the indexes the queries need.

An event row keeps the event's JSON as captured (for faithful round trips) next to the
columns the standard query parameters filter on. The identifiers an event names are in
``epcis_epcs`` (one row per identifier and role), its business transactions in
``epcis_biz_transactions``, and who may read it in ``epcis_event_access``. Rows are only
inserted, never updated: events are immutable facts (corrections are new events with an
error declaration, as EPCIS prescribes).

Partitioning (PRODUCT.md, decision 4): ``epcis_events`` by ``record_time``; the index
tables by hash of their leading column.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import WITHOUT_ROWID, Base, BigId, UtcDateTime


class CaptureJob(Base):
    """One capture request. Documents are captured whole or not at all (rollback behaviour)."""

    __tablename__ = "epcis_capture_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    capture_id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    running: Mapped[bool] = mapped_column(Boolean)
    success: Mapped[bool] = mapped_column(Boolean)
    error_behaviour: Mapped[str] = mapped_column(String(10), default="rollback")
    #: "json", "xml" (EPCIS 2.0) or "xml-1.2".
    source_format: Mapped[str] = mapped_column(String(10))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Events this organisation had already captured (same hash): captured once, not twice.
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The document's JSON-LD prefixes, so stored events can be written back with them.
    context: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON list of errors (problem details) when ``success`` is false.
    errors: Mapped[str] = mapped_column(Text, default="[]")


class EpcRole(enum.IntEnum):
    """The field an identifier appeared in (MATCH_epc, MATCH_parentID, ... select on it)."""

    EPC = 1  # epcList of Object/Transaction events
    PARENT = 2  # parentID
    CHILD = 3  # childEPCs of Aggregation/Association events
    INPUT = 4  # inputEPCList
    OUTPUT = 5  # outputEPCList
    QUANTITY = 6  # epcClass in quantityList / childQuantityList
    INPUT_QUANTITY = 7
    OUTPUT_QUANTITY = 8


class Event(Base):
    __tablename__ = "epcis_events"
    __table_args__ = (
        Index("ix_epcis_events_event_time_id", "event_time", "id"),
        Index("ix_epcis_events_record_time_id", "record_time", "id"),
        # An eventID and an event hash are unique among the events one organisation
        # captured, not across organisations: whether a capture is new, a repeat or a
        # clash must not depend on (and so reveal) what other tenants captured.
        UniqueConstraint("organization_id", "event_id"),
        UniqueConstraint("organization_id", "event_hash"),
        Index("ix_epcis_events_event_id", "event_id"),  # EQ_eventID, GET /events/{eventID}
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: As captured, or the event hash ID when the event came without one.
    event_id: Mapped[str] = mapped_column(String(300))
    #: CBV 2.0 event hash ID: re-capturing the same event is a no-op.
    event_hash: Mapped[str] = mapped_column(String(100))
    capture_job_id: Mapped[int] = mapped_column(ForeignKey("epcis_capture_jobs.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    action: Mapped[str | None] = mapped_column(String(10), default=None)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime)
    record_time: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Standard CBV terms as bare words (``shipping``), extensions as their full URI.
    biz_step: Mapped[str | None] = mapped_column(String(300), default=None, index=True)
    disposition: Mapped[str | None] = mapped_column(String(300), default=None)
    read_point: Mapped[str | None] = mapped_column(String(300), default=None, index=True)
    biz_location: Mapped[str | None] = mapped_column(String(300), default=None, index=True)
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    #: The event's JSON-LD, compact, as captured plus eventID and recordTime.
    body: Mapped[str] = mapped_column(Text)


class EventEpc(Base):
    """One identifier named by one event, in Digital Link form (``identifiers.to_digital_link``)."""

    __tablename__ = "epcis_epcs"
    # The key is the table: an EPC's history is one range scan of one B-tree on SQLite.
    __table_args__ = WITHOUT_ROWID

    epc: Mapped[str] = mapped_column(String(300), primary_key=True)
    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)


class EventBizTransaction(Base):
    __tablename__ = "epcis_biz_transactions"
    __table_args__ = WITHOUT_ROWID

    #: The bare CBV type (``po``), an extension URI, or "" when the transaction has no type.
    type: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class EventAccess(Base):
    """Who may read an event besides the operator and regulators.

    The capturing organisation, and the brand owners of the products it names: a brand owner
    follows its goods through distributors' warehouses without seeing their other traffic.
    """

    __tablename__ = "epcis_event_access"
    __table_args__ = WITHOUT_ROWID

    organization_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ErrorDeclaration(Base):
    """An event declared erroneous (EPCIS 2.0 §7.4.1.2), and by which declaration.

    ``event`` is the erroneous event's row. When the declaration named an event its declarer
    may declare (its own, or any for the operator), the original is left as it was stored and
    logged, and the declaration is a log leaf of its own (``leaf_index``) whose event JSON is
    ``body``. A declaration that declares nothing here (its eventID unknown, or another
    organisation's) is stored as an ordinary event row that carries its errorDeclaration; it
    gets a row here pointing at itself (``leaf_index == event``, ``body`` None), so that the
    errorDeclaration query parameters find it and journeys skip it like any erroneous event.
    """

    __tablename__ = "epcis_error_declarations"

    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    capture_job_id: Mapped[int] = mapped_column(ForeignKey("epcis_capture_jobs.id"))
    declaration_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: The bare CBV term (``incorrect_data``), an extension URI, or None.
    reason: Mapped[str | None] = mapped_column(String(300), default=None)
    #: The declaration event's JSON (with recordTime); None when it is the event row itself.
    body: Mapped[str | None] = mapped_column(Text, default=None)


class CorrectiveEvent(Base):
    """``correctiveEventIDs`` of a declaration: EQ_correctiveEventID, and the way from a
    correction back to the event it corrects."""

    __tablename__ = "epcis_corrective_events"
    __table_args__ = WITHOUT_ROWID

    corrective_event_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    #: The erroneous event's row (ErrorDeclaration.event).
    event: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
