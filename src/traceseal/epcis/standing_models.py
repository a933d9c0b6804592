"""Standing queries: named queries, their subscriptions, and the subscriptions' outbox.

A named query belongs to the organisation that created it; its name is unique among that
organisation's queries only, so whether a name is taken never says anything about other
tenants. A subscription belongs to its query (and so to the same organisation) and receives
only the events that organisation may read (``query.visible_to``).

Deliveries are an outbox (``traceseal.outbox``): each row names the events it carries by
their ids, fixed when the row is written (in the capture's transaction for streams, in the
scheduler's for schedules), so every attempt sends the same events.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base, BigId, UtcDateTime


class NamedQuery(Base):
    """``POST /epcis/queries``: a SimpleEventQuery kept under a name."""

    __tablename__ = "epcis_named_queries"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    #: The ``query`` object as the client sent it (query-schema.json), JSON.
    definition: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Subscription(Base):
    """A webhook subscription to a named query: a stream, or a schedule."""

    __tablename__ = "epcis_subscriptions"
    __table_args__ = (
        Index("ix_epcis_subscriptions_stream", "stream"),
        Index("ix_epcis_subscriptions_next_run_at", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The binding's subscriptionID (a UUID), unguessable.
    subscription_id: Mapped[str] = mapped_column(String(36), unique=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("epcis_named_queries.id"), index=True)
    dest: Mapped[str] = mapped_column(String(500))
    #: The client's signatureToken wrapped by the master key (it is needed to sign).
    wrapped_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    stream: Mapped[bool] = mapped_column(Boolean)
    #: The schedule's fields as given, JSON; None for a stream.
    schedule: Mapped[str | None] = mapped_column(Text, default=None)
    report_if_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    initial_record_time: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: GS1-Query-Min-Record-Time: initialRecordTime, then the last scheduled run.
    min_record_time: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Events up to this id were considered by the last run (ids grow in commit order:
    #: the log's head row serialises appends, ledger.service.append); -1: none yet.
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=-1)
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class SubscriptionDelivery(Base):
    """The outbox: one POST of an EPCISQueryDocument to a subscription's ``dest``."""

    __tablename__ = "epcis_subscription_deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="state"),
        Index("ix_epcis_subscription_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("epcis_subscriptions.id", ondelete="CASCADE"), index=True
    )
    #: JSON list of the event ids this delivery carries ([] for an empty report).
    event_ids: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
