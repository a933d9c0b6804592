"""Verification storage: the append-only scan log and the sparse per-code scan state.

Both are keyed so they can be partitioned when one machine is outgrown (PRODUCT.md,
decision 4; docs/scaling.md): ``scans`` is range-partitioned by month of ``scanned_at`` on
PostgreSQL (migration 0021), and both would be hash-distributed by ``slot``.
A code gets a ``scanned_codes`` row only when it is first verified.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from traceseal.db import WITHOUT_ROWID, Base, BigId, UtcDateTime


class Verdict(enum.StrEnum):
    GENUINE = "genuine"  # an active code, verified for the first time
    GENUINE_REPEAT = "genuine_repeat"  # an active code verified before, within its limit
    SUSPICIOUS = "suspicious"  # an issued code with risk reasons (clone, wrong product, ...)
    INACTIVE = "inactive"  # issued but never put on a product: labels should not be in shops
    VOID = "void"  # labels reported lost or stolen
    RECALLED = "recalled"  # genuine, but its batch is recalled
    NOT_FOUND = "not_found"  # well-formed, but never issued: a made-up code
    MISTYPED = "mistyped"  # the check digit fails: a typo, never called a fake


#: Verdicts that count against a client's failure limit (anti-enumeration).
FAILURES = frozenset({Verdict.NOT_FOUND, Verdict.MISTYPED})


class Channel(enum.StrEnum):
    QR = "qr"  # a phone opened the Digital Link in the label's QR code
    WEB = "web"  # typed on the manual entry page
    API = "api"  # an application calling the verify API
    SMS = "sms"  # a text message to the platform's SMS number (channels/)
    VOICE = "voice"
    CHAT = "chat"
    WECHAT = "wechat"  # a message or scan in the WeChat official account (channels/)
    PHONE = "phone"  # keyed in on a telephone call to the IVR (channels/ivr.py)


def _values(kind: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in kind)


class ScannedCode(Base):
    """How often one issued code was verified, and when and where first and last."""

    __tablename__ = "scanned_codes"
    # The primary key is the table: on SQLite one B-tree instead of a rowid table plus a
    # key index, so each verification writes one page fewer.
    __table_args__ = WITHOUT_ROWID

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    scan_count: Mapped[int] = mapped_column(BigInteger)
    first_scan_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_region: Mapped[str | None] = mapped_column(String(6), default=None)
    #: The channel of the first query (a Channel value): set once, by the counter's insert.
    #: None for codes first queried before migration 0014.
    first_channel: Mapped[str | None] = mapped_column(String(8), default=None)
    last_scan_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_region: Mapped[str | None] = mapped_column(String(6), default=None)
    # A reload by the device that asked last is the same query, not another one.
    last_device_hash: Mapped[str | None] = mapped_column(String(32), default=None)


class Scan(Base):
    """One verification answer, as given. Rows are only ever inserted."""

    __tablename__ = "scans"
    __table_args__ = (
        CheckConstraint(f"verdict IN ({_values(Verdict)})", name="verdict"),
        CheckConstraint(f"channel IN ({_values(Channel)})", name="channel"),
        Index("ix_scans_slot_sequence", "slot", "sequence"),
        Index("ix_scans_organization_scanned_at", "organization_id", "scanned_at"),
        # Trade checks are a sliver of the log: partial indexes hold only them, for the
        # brand whose code was checked and for the checker (verify/checks.py).
        Index(
            "ix_scans_trade_by_brand",
            "organization_id",
            "id",
            sqlite_where=text("trade_org_id IS NOT NULL"),
            postgresql_where=text("trade_org_id IS NOT NULL"),
        ),
        Index(
            "ix_scans_trade_by_checker",
            "trade_org_id",
            "id",
            sqlite_where=text("trade_org_id IS NOT NULL"),
            postgresql_where=text("trade_org_id IS NOT NULL"),
        ),
    )

    # The primary key is (id, scanned_at, slot) on PostgreSQL (migration 0021): a table
    # range-partitioned by scanned_at must have it in every unique key, and one
    # hash-distributed by slot (traceseal/distribution.py) must have that too. id leads, so
    # new keys still go to the right edge of the index. On SQLite the table keeps id alone
    # as its INTEGER PRIMARY KEY (the rowid, which only a one-column key can alias), which
    # is unique all the more; the ids come from the database on both engines.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No index of its own: ids grow with time, so time ranges are id ranges; on PostgreSQL
    # the monthly partitions bound them too.
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # None when the slot does not exist: the code cannot be decrypted.
    sequence: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The owner of the code's slot (also for not_found codes in a real slot: a brand wants
    # to know where made-up codes in its name turn up).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id"), default=None
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), default=None)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), default=None)
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    scan_count: Mapped[int] = mapped_column(BigInteger, default=0)
    #: A trade check (a shop's or distributor's authenticated scan): the organisation that
    #: checked. The brand's to see; it never counts as the consumer's query. No foreign key,
    #: so adding the column never made SQLite copy the scan log (migration 0009).
    trade_org_id: Mapped[int | None] = mapped_column(BigId, default=None)
    channel: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(6), default=None)
    # What placed the scan in ``region`` and how finely (geo.locate.Place).
    region_source: Mapped[str | None] = mapped_column(String(12), default=None)
    region_precision: Mapped[str | None] = mapped_column(String(20), default=None)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    ip_hash: Mapped[str | None] = mapped_column(String(32), default=None)
    device_hash: Mapped[str | None] = mapped_column(String(32), default=None)


class ScanRollup(Base):
    """Counts of the scan log per hour and key, kept by one upsert per logged scan.

    Written in the verification's own transaction (statements.ROLLUP), so a committed scan
    is counted exactly once; ``traceseal analytics rebuild`` recomputes it from ``scans``.
    The hour is China Standard Time (UTC+8, no daylight saving: verify/rollups.py) and is
    the scan's own time, so a late or replayed scan lands in its bucket. Keys that a scan
    lacks are 0 or '' rather than NULL: NULLs never conflict, so an upsert on them would
    insert a new row every time. No foreign keys, for the same reason and so that old
    scan rows can be dropped while their counts stay.
    """

    __tablename__ = "scan_rollups"
    __table_args__ = (
        CheckConstraint("hour BETWEEN 0 AND 23", name="hour"),
        Index("ix_scan_rollups_organization_day", "organization_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    organization_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: GB/T 2260 province (``PP0000``) and city (``PPCC00``) of the scan's region, or ''.
    province: Mapped[str] = mapped_column(String(6), primary_key=True)
    city: Mapped[str] = mapped_column(String(6), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: Which of the bucket's rows (verify/rollups.SHARDS): on PostgreSQL a busy bucket is
    #: spread over several rows by the code's sequence number, so that concurrent scans of
    #: one product in one place and hour do not queue on one row's lock until commit.
    #: Readers sum over it like over the hour.
    shard: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, autoincrement=False, server_default="0"
    )
    scans: Mapped[int] = mapped_column(BigInteger)
    #: Consumers' answers that were a first query (genuine) or about a code queried before
    #: (its count above 1, whatever the verdict); trade checks are in neither.
    firsts: Mapped[int] = mapped_column(BigInteger)
    repeats: Mapped[int] = mapped_column(BigInteger)
    #: Trade checks (a shop's or distributor's authenticated scan).
    trade: Mapped[int] = mapped_column(BigInteger)


class StaleDay(Base):
    """A day (CST) a late scan was counted in after the day was over: the analytics' day
    and month sums (analytics/models.py) may have been folded without it, so they are read
    from the rollups for that day until the next fold refolds it and deletes the mark."""

    __tablename__ = "rollup_stale"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
