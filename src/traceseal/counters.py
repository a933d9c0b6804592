"""Counters shared by every process through the database: failed verifications per client,
enumeration bursts, risk's per-window tallies. A table of its own below the features, so each
feature counts without importing another."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import Base


class RateWindow(Base):
    """A fixed-window counter: ``count`` events for ``key`` in the window starting then.

    Shared by every worker process through the database, so a limit holds however many
    processes serve requests. Only failures and alerts tick it, never a genuine answer.
    """

    __tablename__ = "rate_windows"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger)
