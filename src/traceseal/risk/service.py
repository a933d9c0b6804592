"""Risk evaluation on the verification path: custody, memory, signals, alerts.

Called once per counted verification of an active code, inside its transaction
(verify.service). The work is a handful of small indexed statements compiled once
(db.Prepared): the code's expected custody (logistics), its risk memory (one primary-key
read and, when something changed, one upsert), and for a first query one window counter.
Alerts, which are rare, go through the ordinary alert service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from traceseal.alerts.models import Severity
from traceseal.alerts.service import raise_alert
from traceseal.config import Settings
from traceseal.counters import RateWindow
from traceseal.db import Prepared, db_time, insert_for, py_time
from traceseal.epcis.trace import Trace
from traceseal.geo.buckets import bucket, place
from traceseal.geo.regions import level_of, table
from traceseal.logistics.service import Custody, ask_custody, expected_custody
from traceseal.risk.models import CodeRisk, DiversionFlow
from traceseal.risk.signals import Finding, Memory, Policy, Sighting, assess

__all__ = ["RiskEngine", "Scanned"]

#: Consecutive codes are grouped in blocks this long for the sequential-burst signal.
BURST_BLOCK = 1000


@dataclass(frozen=True, slots=True)
class Scanned:
    """The verification's facts risk needs."""

    owner: int
    code: str
    slot: int
    sequence: int
    batch_id: int | None
    lot: str | None
    count: int
    region: str | None
    latitude: float | None
    longitude: float | None
    ip_hash: str | None
    device_hash: str | None
    trade: bool
    journey: Trace | None


_MEMORY = Prepared(
    select(
        CodeRisk.devices,
        CodeRisk.last_at,
        CodeRisk.last_lat,
        CodeRisk.last_lon,
        CodeRisk.last_region,
        CodeRisk.diversion,
        CodeRisk.score,
    ).where(CodeRisk.slot == bindparam("slot"), CodeRisk.sequence == bindparam("sequence"))
)


def _remember(dialect: str) -> Prepared:
    columns = ("devices", "last_at", "last_lat", "last_lon", "last_region", "diversion", "score")
    upsert = insert_for(dialect, CodeRisk).values(
        slot=bindparam("slot"),
        sequence=bindparam("sequence"),
        organization_id=bindparam("owner"),
        **{name: bindparam(name) for name in columns},
    )
    return Prepared(
        upsert.on_conflict_do_update(
            index_elements=[CodeRisk.slot, CodeRisk.sequence],
            set_={name: getattr(upsert.excluded, name) for name in columns},
        )
    )


_REMEMBER = {name: _remember(name) for name in ("sqlite", "postgresql")}


def _window(dialect: str) -> Prepared:
    upsert = insert_for(dialect, RateWindow).values(
        key=bindparam("key"), window_start=bindparam("start"), count=1
    )
    return Prepared(
        upsert.on_conflict_do_update(
            index_elements=[RateWindow.key, RateWindow.window_start],
            set_={"count": RateWindow.count + 1},
        ).returning(RateWindow.count)
    )


_WINDOW = {name: _window(name) for name in ("sqlite", "postgresql")}


def _flow(dialect: str) -> Prepared:
    keys = ("day", "organization_id", "distributor_id", "batch_id", "province", "city")
    upsert = insert_for(dialect, DiversionFlow).values(
        **{name: bindparam(name) for name in keys}, scans=1, trade=bindparam("trade")
    )
    return Prepared(
        upsert.on_conflict_do_update(
            index_elements=[getattr(DiversionFlow, name) for name in keys],
            set_={
                "scans": DiversionFlow.scans + 1,
                "trade": DiversionFlow.trade + upsert.excluded.trade,
            },
        )
    )


_FLOW = {name: _flow(name) for name in ("sqlite", "postgresql")}


def _count_flow(connection: Connection, scan: Scanned, custody: Custody, now: datetime) -> None:
    """One scan outside ``custody``'s territory added to the diversion flows (an upsert)."""
    day, _ = bucket(now)
    province, city = place(scan.region)
    params = {
        "day": day.isoformat() if connection.dialect.name == "sqlite" else day,
        "organization_id": scan.owner,
        "distributor_id": custody.distributor_id,
        "batch_id": scan.batch_id or 0,
        "province": province,
        "city": city,
        "trade": int(scan.trade),
    }
    _FLOW[connection.dialect.name].run(connection, params)


def _bump_window(connection: Connection, key: str, start: int) -> int:
    """One first query counted in ``key``'s window (atomic upsert); the new count."""
    params = {"key": key, "start": start}
    return int(_WINDOW[connection.dialect.name].run(connection, params).fetchone()[0])


#: Counts one event for a key in a fixed window and gives the new count:
#: ``(connection, key, window_start, window_seconds)`` (verify/limits.Windows.bump).
Counter = Callable[[Connection, str, int, int], int]


class RiskEngine:
    """Evaluates scans with the policy the settings give; one per process.

    ``counter`` keeps the sequential-burst windows elsewhere (Redis); by default they are
    rows of ``rate_windows``, counted in the verification's transaction."""

    def __init__(self, settings: Settings, counter: Counter | None = None) -> None:
        self._counter = counter
        self.policy = Policy(
            threshold=settings.risk_threshold,
            device_limit=settings.clone_device_limit,
            max_speed_kmh=float(settings.impossible_travel_kmh),
            diversion_threshold=settings.diversion_threshold,
            trade_weight=settings.diversion_trade_weight,
            consumer_weight=settings.diversion_consumer_weight,
        )
        self.burst_threshold = settings.sequential_burst_threshold
        self.burst_window = settings.sequential_burst_window
        self.regions = table()

    def _point(self, scan: Scanned) -> tuple[float, float] | None:
        if scan.latitude is not None and scan.longitude is not None:
            return (scan.latitude, scan.longitude)
        if scan.region is not None and level_of(scan.region) > 1:
            return self.regions.centroid(scan.region)
        return None

    def _burst(self, connection: Connection, scan: Scanned, now: datetime) -> bool:
        """Count a first query in its client's block of consecutive codes."""
        client = scan.device_hash or scan.ip_hash
        if not self.burst_threshold or scan.count != 1 or client is None:
            return False
        stamp = int(now.timestamp())
        start = stamp - stamp % self.burst_window
        block = scan.sequence // BURST_BLOCK
        key = f"seq:{client[:16]}:{scan.slot}:{block}"
        if self._counter is None:
            count = _bump_window(connection, key, start)
        else:
            count = self._counter(connection, key, start, self.burst_window)
        if count == self.burst_threshold:
            raise_alert(
                connection,
                kind="sequential_burst",
                severity=Severity.WARNING,
                summary=(
                    f"one client made first queries of {count} consecutive codes "
                    f"(slot {scan.slot}, block {block}) within {self.burst_window} s: "
                    "someone may be checking harvested labels"
                ),
                dedupe_key=f"sequential_burst:{key}:{start}",
                details={"slot": scan.slot, "block": block, "count": count, "window": start},
                organization_id=scan.owner,
                region=scan.region,
                code=scan.code,
                now=now,
            )
        return count >= self.burst_threshold

    def ask(
        self, connection: Connection, *, slot: int, sequence: int, batch_id: int | None
    ) -> None:
        """Send ahead (db.Prepared.send) the reads :meth:`evaluate` of this code makes
        first: its risk memory, and its custody unless its events name a place."""
        _MEMORY.send(connection, {"slot": slot, "sequence": sequence})
        ask_custody(connection, slot=slot, sequence=sequence, batch_id=batch_id)

    def evaluate(self, connection: Connection, scan: Scanned, *, now: datetime) -> Finding:
        custody = expected_custody(
            connection,
            owner=scan.owner,
            slot=scan.slot,
            sequence=scan.sequence,
            batch_id=scan.batch_id,
            journey=scan.journey,
        )
        key = {"slot": scan.slot, "sequence": scan.sequence}
        row = _MEMORY.run(connection, key).fetchone()
        memory = Memory() if row is None else _memory(row)
        sighting = Sighting(
            at=now,
            region=scan.region,
            point=self._point(scan),
            device=None if scan.device_hash is None else scan.device_hash[:8],
            trade=scan.trade,
            repeat=scan.count > 1,
            burst=self._burst(connection, scan, now),
        )
        finding = assess(
            memory, sighting, None if custody is None else custody.territory, self.policy
        )
        if finding.memory != memory:
            remembered = finding.memory
            _REMEMBER[connection.dialect.name].run(
                connection,
                {
                    **key,
                    "owner": scan.owner,
                    "devices": ",".join(remembered.devices),
                    "last_at": None
                    if remembered.last_at is None
                    else db_time(remembered.last_at, connection.dialect),
                    "last_lat": None if remembered.last_point is None else remembered.last_point[0],
                    "last_lon": None if remembered.last_point is None else remembered.last_point[1],
                    "last_region": remembered.last_region,
                    "diversion": remembered.diversion,
                    "score": remembered.score,
                },
            )
        if custody is not None and finding.outside:
            _count_flow(connection, scan, custody, now)
        # While a code's alert is open, raising it again is a no-op (its dedupe key); once
        # acknowledged, the next scan that still shows the problem opens a new one.
        policy = self.policy
        remembered = finding.memory
        if (
            custody is not None
            and finding.outside
            and remembered.diversion >= policy.diversion_threshold
            and remembered.score < policy.threshold
        ):
            self._diversion_alert(connection, scan, custody, now)
        if finding.suspicious:
            self._clone_alert(connection, scan, finding, custody, now)
        return finding

    def _diversion_alert(
        self, connection: Connection, scan: Scanned, custody: Custody, now: datetime
    ) -> None:
        expected = ", ".join(custody.territory)
        names = [self.regions.label(r, "zh-CN") for r in custody.territory]
        actual = self.regions.label(scan.region, "zh-CN")
        raise_alert(
            connection,
            kind="diversion",
            severity=Severity.CRITICAL if scan.trade else Severity.WARNING,
            summary=(
                f"code {scan.code} (lot {scan.lot or '-'}) of distributor {custody.distributor} "
                f"was scanned in {actual}, outside its territory {expected}"
            ),
            dedupe_key=f"diversion:{scan.slot}:{scan.sequence}",
            details={
                "code": scan.code,
                "lot": scan.lot,
                "batch_id": scan.batch_id,
                "distributor_id": custody.distributor_id,
                "distributor": custody.distributor,
                "custody_source": custody.source,
                "expected_regions": list(custody.territory),
                "expected_names": names,
                "actual_region": scan.region,
                "actual_name": actual,
                "trade_scan": scan.trade,
            },
            organization_id=scan.owner,
            region=scan.region,
            distributor_id=custody.distributor_id,
            code=scan.code,
            now=now,
        )

    def _clone_alert(
        self,
        connection: Connection,
        scan: Scanned,
        finding: Finding,
        custody: Custody | None,
        now: datetime,
    ) -> None:
        raise_alert(
            connection,
            kind="clone",
            severity=Severity.CRITICAL,
            summary=(
                f"code {scan.code} (lot {scan.lot or '-'}) looks copied: "
                f"{', '.join(finding.signals)} (risk {finding.score})"
            ),
            dedupe_key=f"clone:{scan.slot}:{scan.sequence}",
            details={
                "code": scan.code,
                "lot": scan.lot,
                "batch_id": scan.batch_id,
                "signals": list(finding.signals),
                "score": finding.score,
                "region": scan.region,
                "devices": len(finding.memory.devices),
                "distributor_id": None if custody is None else custody.distributor_id,
            },
            organization_id=scan.owner,
            region=scan.region,
            distributor_id=None if custody is None else custody.distributor_id,
            code=scan.code,
            now=now,
        )


def _memory(row: Any) -> Memory:
    devices, last_at, lat, lon, region, diversion, score = row
    return Memory(
        devices=tuple(d for d in (devices or "").split(",") if d),
        last_at=py_time(last_at),
        last_point=None if lat is None or lon is None else (float(lat), float(lon)),
        last_region=region,
        diversion=int(diversion),
        score=int(score),
    )
