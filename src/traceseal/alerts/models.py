"""Alerts: things a person should look at, and their delivery to the enterprise's webhook.

Kinds: ``enumeration_burst`` (platform-wide guessing), ``diversion`` (a scan outside the
expected territory), ``clone`` (a code's risk score over the threshold) and
``sequential_burst`` (one client's first queries of consecutive codes).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base, BigId, UtcDateTime


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_SEVERITIES = ", ".join(f"'{s.value}'" for s in Severity)


class AlertState(enum.StrEnum):
    """Where a brand's look into an alert stands (docs/api.md: the alert and report workflows)."""

    OPEN = "open"  # raised, nobody has taken it up yet
    INVESTIGATING = "investigating"  # someone is looking into it
    CLOSED = "closed"  # settled, with an outcome


class Outcome(enum.StrEnum):
    """What a closed alert turned out to be."""

    COUNTERFEIT = "counterfeit"  # fake goods confirmed
    DIVERTED = "diverted"  # genuine goods sold outside their territory
    FALSE_ALARM = "false_alarm"  # nothing wrong after all
    OTHER = "other"  # see the note


_ALERT_STATES = ", ".join(f"'{s.value}'" for s in AlertState)
_OUTCOMES = ", ".join(f"'{o.value}'" for o in Outcome)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"severity IN ({_SEVERITIES})", name="severity"),
        CheckConstraint(f"state IN ({_ALERT_STATES})", name="state"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_OUTCOMES})", name="outcome"),
        Index("ix_alerts_organization_raised_at", "organization_id", "raised_at"),
        # A brand's alert list, newest first (list_alerts orders by id): without it the list
        # walks every brand's alerts backwards to find this one's (bench/explain.py,
        # docs/scaling.md).
        Index("ix_alerts_organization_id_id", "organization_id", "id"),
        # Verification asks whether a code is under an open alert: a partial index holds
        # only the open ones, so it stays small however many alerts are closed.
        Index(
            "ix_alerts_open_code",
            "code",
            sqlite_where=text("acknowledged_at IS NULL"),
            postgresql_where=text("acknowledged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    # None: a platform-wide alert, seen by the operator and regulators only.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), default=None
    )
    summary: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Raising the same alert twice (two workers crossing one threshold) stores it once.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), default=None
    )
    # What summaries group by (GET /api/v1/alerts/summary); also in ``details``.
    region: Mapped[str | None] = mapped_column(String(6), default=None)
    distributor_id: Mapped[int | None] = mapped_column(
        ForeignKey("distributors.id"), default=None, index=True
    )
    code: Mapped[str | None] = mapped_column(String(20), default=None)
    #: The workflow (AlertState); an alert closes with an outcome (Outcome).
    state: Mapped[str] = mapped_column(
        String(16), default=AlertState.OPEN.value, server_default=AlertState.OPEN.value
    )
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)


class AlertChange(Base):
    """One step of an alert's workflow: who moved it, when, from where to where, and why.

    Append-only: the alert's history is read from these rows, oldest first.
    """

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: The organisation that acted, and the person (a console sign-in name) or the API key's
    #: organisation (``api:<name>``) as it was named then.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    actor: Mapped[str] = mapped_column(String(254))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class Webhook(Base):
    """Where an enterprise wants its alerts POSTed, and the secret that signs them.

    The secret is needed in the clear to sign, so it is wrapped by the master key
    (Keyring.wrap_secret), never hashed.
    """

    __tablename__ = "webhooks"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id"), primary_key=True, autoincrement=False
    )
    url: Mapped[str] = mapped_column(String(500))
    wrapped_secret: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # attempts used up


_STATES = ", ".join(f"'{s.value}'" for s in DeliveryState)


class Delivery(Base):
    """The outbox: one row per alert for the webhook, written in the alert's transaction.

    Delivery is at least once: a receiver may see an alert twice (a lost 2xx), and tells
    the repeats by the ``Idempotency-Key`` header, which is this row's key.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="state"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
