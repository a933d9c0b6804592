"""Answers per client network and day: how many queries a network sent, and how many of
them were made-up (not found) or mistyped codes. A network far above the others in both
is where someone guesses codes; a carrier's address pool is where many people share one.

The network is the client's IPv4 /24 or IPv6 /48, as a keyed hash with the period's salt
(verify/salts.py), so the table names no address. Counting touches no storage on the
answer's path, as design decision 2 wants for typos: each process adds its answers up in
memory and writes them every 30 seconds (and at shutdown) as one upsert per network and
day, which adds to what other processes wrote. A process killed outright loses its last
30 seconds of counts: these are rates for people to read, not a ledger.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String, func
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from traceseal.db import Base, insert_for, unit_of_work
from traceseal.geo.buckets import CHINA
from traceseal.verify.models import Verdict

__all__ = ["NetworkDay", "NetworkTally", "network_of"]


class NetworkDay(Base):
    __tablename__ = "network_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: Keyed hash of the network (128 bits, hex).
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The region the network's addresses map to, when the operator gave a table of them.
    region: Mapped[str] = mapped_column(String(6), default="", server_default="")
    answers: Mapped[int] = mapped_column(BigInteger, default=0)
    not_found: Mapped[int] = mapped_column(BigInteger, default=0)
    mistyped: Mapped[int] = mapped_column(BigInteger, default=0)


def network_of(ip: str | None) -> str | None:
    """The network an address belongs to: ``network_of("203.0.113.9") == "203.0.113.0/24"``;
    an IPv6 address by its /48 (a site's usual allocation); None for no or a bad address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class NetworkTally:
    """The process's counts since its last write, by (day, network)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self._regions: dict[tuple[date, str], str] = {}

    def note(self, network: str | None, region: str | None, verdict: str, at: datetime) -> None:
        """Count one answer (called after its transaction committed)."""
        if network is None:
            return
        key = (at.astimezone(CHINA).date(), network)
        with self._lock:
            counts = self._counts[key]
            counts[0] += 1
            counts[1] += verdict == Verdict.NOT_FOUND
            counts[2] += verdict == Verdict.MISTYPED
            if region:
                self._regions[key] = region

    def write(self, factory: sessionmaker[Session]) -> int:
        """Add the counts to the table in one transaction; returns the rows written. Counts
        taken while writing wait for the next write; a failed write keeps its counts."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(lambda: [0, 0, 0])
            regions, self._regions = self._regions, {}
        if not counts:
            return 0
        try:
            with unit_of_work(factory) as session:
                conn = session.connection()
                rows = [
                    {
                        "day": day,
                        "network": network,
                        "region": regions.get((day, network), ""),
                        "answers": n[0],
                        "not_found": n[1],
                        "mistyped": n[2],
                    }
                    for (day, network), n in sorted(counts.items())
                ]
                statement = insert_for(conn.dialect.name, NetworkDay)
                excluded = statement.excluded
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[NetworkDay.day, NetworkDay.network],
                        set_={
                            "answers": NetworkDay.answers + excluded.answers,
                            "not_found": NetworkDay.not_found + excluded.not_found,
                            "mistyped": NetworkDay.mistyped + excluded.mistyped,
                            # A write that knew no region keeps the one known before.
                            "region": func.coalesce(
                                func.nullif(excluded.region, ""), NetworkDay.region
                            ),
                        },
                    ),
                    rows,
                )
        except Exception:
            self._restore(counts, regions)
            raise
        return len(counts)

    def _restore(
        self, counts: dict[tuple[date, str], list[int]], regions: dict[tuple[date, str], str]
    ) -> None:
        with self._lock:
            for key, n in counts.items():
                kept = self._counts[key]
                for i in range(3):
                    kept[i] += n[i]
            for key, region in regions.items():
                self._regions.setdefault(key, region)
