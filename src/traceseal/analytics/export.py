"""Parquet export of the scan log, the rollups and the diversion flows, for data teams.

Streamed: rows are read from the database ``BATCH`` at a time (server-side cursor on
PostgreSQL) and written as one Parquet row group each, so memory stays flat whatever the
range. The file is written beside its destination and renamed into place when complete,
so a failed or interrupted export never leaves a file that looks whole.

The scan log is exported without the consumer's coordinates and without the keyed hashes
of client address and device: those serve fraud signals inside the platform, and a data
team's copy has no need to follow one person from scan to scan (docs/analytics.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Connection, cast, func, select

from traceseal.db import py_time
from traceseal.geo.buckets import CHINA
from traceseal.risk.models import DiversionFlow
from traceseal.verify.models import Scan, ScanRollup

__all__ = ["BATCH", "TABLES", "export_parquet"]

#: Rows per read and per Parquet row group.
BATCH = 50_000

_ID = pa.int64()
_TEXT = pa.string()
_SCANS: dict[str, pa.DataType] = {
    "id": _ID,
    "scanned_at": pa.timestamp("us", tz="UTC"),
    "code": _TEXT,
    "slot": pa.int32(),
    "sequence": _ID,
    "organization_id": _ID,
    "product_id": _ID,
    "batch_id": _ID,
    "verdict": _TEXT,
    "reasons": _TEXT,
    "scan_count": _ID,
    "trade_org_id": _ID,
    "channel": _TEXT,
    "region": _TEXT,
    "region_source": _TEXT,
    "region_precision": _TEXT,
}
_COUNTS = ("scans", "firsts", "repeats", "trade")
_ROLLUPS: dict[str, pa.DataType] = {
    "day": pa.date32(),
    "hour": pa.int8(),
    "organization_id": _ID,
    "product_id": _ID,
    "batch_id": _ID,
    "province": _TEXT,
    "city": _TEXT,
    "channel": _TEXT,
    "verdict": _TEXT,
    "scans": _ID,
    "firsts": _ID,
    "repeats": _ID,
    "trade": _ID,
}
_FLOWS: dict[str, pa.DataType] = {
    "day": pa.date32(),
    "organization_id": _ID,
    "distributor_id": _ID,
    "batch_id": _ID,
    "province": _TEXT,
    "city": _TEXT,
    "scans": _ID,
    "trade": _ID,
}
#: What can be exported, and each one's columns and their Parquet types.
TABLES: dict[str, tuple[Any, dict[str, pa.DataType]]] = {
    "scans": (Scan, _SCANS),
    "rollups": (ScanRollup, _ROLLUPS),
    "flows": (DiversionFlow, _FLOWS),
}


def export_parquet(
    connection: Connection,
    table: str,
    destination: Path,
    *,
    start: date,
    end: date,
    organization_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write ``table``'s rows of days ``start``..``end`` (CST, included) to ``destination``;
    returns the number of rows. ``organization_id`` keeps one brand's rows only."""
    model, columns = TABLES[table]
    query = select(*(getattr(model, name) for name in columns))
    if model is ScanRollup:
        # One row per bucket: PostgreSQL keeps a busy bucket in shards (verify/rollups.py),
        # which are the storage's business, not the data team's.
        keys = [getattr(model, name) for name in columns if name not in _COUNTS]
        sums = [cast(func.sum(getattr(model, name)), BigInteger).label(name) for name in _COUNTS]
        query = select(*keys, *sums).group_by(*keys)
    if model is Scan:
        first = datetime.combine(start, time(), CHINA).astimezone(UTC)
        after = datetime.combine(end + timedelta(days=1), time(), CHINA).astimezone(UTC)
        query = query.where(Scan.scanned_at >= first, Scan.scanned_at < after).order_by(Scan.id)
    else:
        query = query.where(model.day >= start, model.day <= end).order_by(model.day)
    if organization_id is not None:
        query = query.where(model.organization_id == organization_id)
    total = connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    schema = pa.schema([(name, kind) for name, kind in columns.items()])
    partial = destination.with_name(f".{destination.name}.partial")
    done = 0
    try:
        with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
            result = connection.execution_options(yield_per=BATCH).execute(query)
            for rows in result.partitions():
                writer.write_table(_table(rows, columns, schema))
                done += len(rows)
                if progress is not None:
                    progress(done, total)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    if progress is not None:
        progress(done, total)
    return done


def _table(rows: Any, columns: dict[str, pa.DataType], schema: pa.Schema) -> pa.Table:
    values: list[list[Any]] = [[] for _ in columns]
    kinds = list(columns.values())
    for row in rows:
        for i, value in enumerate(row):
            values[i].append(_value(value, kinds[i]))
    return pa.Table.from_arrays(
        [pa.array(v, type=k) for v, k in zip(values, kinds, strict=True)], schema=schema
    )


def _value(value: Any, kind: pa.DataType) -> Any:
    """SQLite hands back dates and times as text; PostgreSQL as Python objects."""
    if value is None:
        return None
    if pa.types.is_timestamp(kind):
        return py_time(value)
    if pa.types.is_date32(kind) and not isinstance(value, date):
        return date.fromisoformat(str(value))
    return value
