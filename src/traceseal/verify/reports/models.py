"""Consumers' reports of suspected fakes, for the brand owner and the operator."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base, BigId, UtcDateTime


class ReportPhoto(Base):
    """A photo, stored once by content hash however many reports attach it."""

    __tablename__ = "report_photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(30))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ReportState(enum.StrEnum):
    """Where the brand's handling of a report stands; the reporter sees it too."""

    NEW = "new"  # not looked at yet
    INVESTIGATING = "investigating"  # the brand is looking into it
    RESOLVED = "resolved"  # settled: the reply says what was found and done
    REJECTED = "rejected"  # not taken further: the reply says why


_REPORT_STATES = ", ".join(f"'{s.value}'" for s in ReportState)


class CounterfeitReport(Base):
    __tablename__ = "counterfeit_reports"
    __table_args__ = (CheckConstraint(f"state IN ({_REPORT_STATES})", name="state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    code: Mapped[str] = mapped_column(String(20))
    # The owner of the code's slot; None for a code in no slot (the operator sees those).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), default=None, index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    # What the code is, as far as storage knows: not_found, issued, active or void.
    code_status: Mapped[str] = mapped_column(String(16))
    where_bought: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    photo_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("report_photos.sha256"), default=None
    )
    ip_hash: Mapped[str | None] = mapped_column(String(32), default=None)
    device_hash: Mapped[str | None] = mapped_column(String(32), default=None)
    state: Mapped[str] = mapped_column(
        String(16), default=ReportState.NEW.value, server_default=ReportState.NEW.value
    )
    #: The brand's answer to the reporter, shown on the report's public status page.
    reply: Mapped[str] = mapped_column(Text, default="", server_default="")
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    #: SHA-256 of the token in the reporter's status link (the token itself is never stored;
    #: reports filed before the link existed have none).
    status_token_hash: Mapped[str | None] = mapped_column(
        String(64), default=None, unique=True, index=True
    )
