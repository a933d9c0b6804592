"""Rotating salts for the keyed hashes of client addresses and device ids.

A client's address and device cookie are stored only as keyed hashes (verify/channel.py).
The key used to be one for ever, derived from the master key: whoever held both the
database and the master key could test every IPv4 address (2^32 hashes) against any scan
of any year. Now each period of ``TRACESEAL_CLIENT_SALT_DAYS`` days has its own random
salt, kept in the database, and the period's key is HMAC(master-derived key, salt):

- the database alone still reveals no key (the master key is not in it);
- hashes of different periods cannot be linked: a phone is a new device each period;
- when the scans of a period are pruned (``TRACESEAL_SCAN_RETENTION_DAYS``), its salt is
  deleted with them, and no one, the operator included, can recompute that period's
  hashes: what is left of it (reports, alerts' evidence) is anonymous for good.

What rotation costs, at the boundary between two periods (docs/analytics.md): a code
checked by the same phone before and after counts two devices (the clone rule tolerates
``TRACESEAL_CLONE_DEVICE_LIMIT`` devices), failure and flood limits start again, and a
reload across the boundary counts as a new query. Distinct-device counts (analytics
sketches) are per day, so only sums over days on both sides of a boundary count a
device twice.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Integer, LargeBinary, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from traceseal.db import Base, UtcDateTime, insert_for, unit_of_work, utcnow

DAY = 86_400


class ClientSalt(Base):
    """One period's salt. Periods are counted in whole days from 1970-01-01 UTC."""

    __tablename__ = "client_salts"

    period: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: When the period ends: the salt is deleted once every scan before this is pruned.
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def period_of(stamp: float, days: int) -> int:
    """The period holding the Unix time ``stamp``: ``period_of(0, 30) == 0``."""
    return int(stamp // (days * DAY))


def period_end(period: int, days: int) -> datetime:
    return datetime.fromtimestamp((period + 1) * days * DAY, UTC)


class ClientKeys:
    """The hash key of the current period, the same in every process and host.

    The first process to need a period's salt makes it (an insert that keeps the first
    one written if several race); the others read it. Each process keeps the current
    period's key, so this touches the database once per period per process.
    """

    def __init__(
        self,
        base: bytes,
        days: int,
        factory: sessionmaker[Session],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base = base
        self._days = days
        self._factory = factory
        self._clock = clock
        self._kept: tuple[int, bytes] | None = None

    def current(self) -> bytes:
        """The key to hash a client with now (the base key itself when rotation is off)."""
        if not self._days:
            return self._base
        period = period_of(self._clock(), self._days)
        kept = self._kept
        if kept is not None and kept[0] == period:
            return kept[1]
        salt = self._salt(period)
        key = hmac.new(self._base, b"client-salt:" + salt, hashlib.sha256).digest()
        # One assignment: a thread reading meanwhile sees the old pair or the new one.
        self._kept = (period, key)
        return key

    def _salt(self, period: int) -> bytes:
        with unit_of_work(self._factory) as session:
            conn = session.connection()
            made = insert_for(conn.dialect.name, ClientSalt).values(
                period=period,
                salt=os.urandom(32),
                ends_at=period_end(period, self._days),
                created_at=utcnow(),
            )
            conn.execute(made.on_conflict_do_nothing(index_elements=[ClientSalt.period]))
            salt: bytes = conn.execute(
                select(ClientSalt.salt).where(ClientSalt.period == period)
            ).scalar_one()
        return salt


def forget(conn: Connection, before: datetime) -> int:
    """Delete the salts of periods that ended by ``before`` (the scans' pruning horizon);
    returns how many. The current period's salt is never among them."""
    return int(conn.execute(delete(ClientSalt).where(ClientSalt.ends_at <= before)).rowcount)
