"""The statements of the verification path, built and compiled once per engine kind.

They run on the DBAPI cursor through ``db.Prepared``: per request, SQLAlchemy's own work
would cost more than the queries (bench/verify.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select

from traceseal.alerts.models import Alert, Severity
from traceseal.codes.models import CodeRun, CodeSegment
from traceseal.db import Prepared, insert_for
from traceseal.logistics.models import Distributor
from traceseal.orgs.models import Organization
from traceseal.quality.models import Programme, QualityRecord
from traceseal.recalls.models import Recall
from traceseal.registry.models import Batch, Product
from traceseal.verify.models import Scan, ScannedCode, ScanRollup, StaleDay

__all__ = [
    "CONTEXT",
    "COUNTER",
    "LOG",
    "LOG_AND_ROLLUP",
    "PARTNER",
    "RECALL",
    "ROLLUP",
    "STALE",
    "STATE",
]


# The segment holding a sequence number: the subquery walks the (slot, start) index
# backwards to the greatest start not above it; the caller checks ``sequence < stop``.
_SEGMENT_ID = (
    select(CodeSegment.id)
    .where(CodeSegment.slot == bindparam("slot"), CodeSegment.start <= bindparam("sequence"))
    .order_by(CodeSegment.start.desc())
    .limit(1)
    .scalar_subquery()
)
# A recall in force for the product: of every batch, or of this segment's batch.
_RECALL_ID = (
    select(Recall.id)
    .where(
        Recall.product_id == Product.id,
        Recall.ended_at.is_(None),
        or_(Recall.batch_id.is_(None), Recall.batch_id == CodeSegment.batch_id),
    )
    .order_by(Recall.announced_at.desc())
    .limit(1)
    .correlate(Product, CodeSegment)
    .scalar_subquery()
)
# A critical clone or diversion alert on the code that its brand has not closed yet (the
# partial index of migration 0008 holds only open critical ones).
_OPEN_ALERT_ID = (
    select(Alert.id)
    .where(
        Alert.code == bindparam("code"),
        Alert.acknowledged_at.is_(None),
        Alert.severity == Severity.CRITICAL.value,
        # Spelt out: an IN list would compile to a placeholder Prepared cannot send.
        or_(Alert.kind == "clone", Alert.kind == "diversion"),
    )
    .limit(1)
    .scalar_subquery()
)
#: One round trip: the segment and everything the answer shows about it.
_CONTEXT = (
    select(
        CodeSegment.state,
        CodeSegment.stop,
        CodeSegment.batch_id,
        CodeRun.organization_id,
        Organization.name,
        Product.id,
        Product.gtin,
        Product.name,
        Product.brand,
        Product.category,
        Product.specification,
        Product.image_url,
        Product.scan_limit,
        Batch.lot,
        Batch.production_date,
        Batch.expiry_date,
        _RECALL_ID,
        CodeRun.programme_id,
        Programme.name,
        Programme.name_en,
        _OPEN_ALERT_ID,
    )
    .select_from(CodeSegment)
    .join(CodeRun, CodeRun.id == CodeSegment.run_id)
    .join(Organization, Organization.id == CodeRun.organization_id)
    .outerjoin(Batch, Batch.id == CodeSegment.batch_id)
    # A run may be issued for no product and bound to one only when activated.
    .outerjoin(Product, Product.id == func.coalesce(Batch.product_id, CodeRun.product_id))
    .outerjoin(Programme, Programme.id == CodeRun.programme_id)
    .where(CodeSegment.id == _SEGMENT_ID)
)
_RECALL = (
    select(
        Recall.reason,
        Recall.instructions,
        Recall.contact,
        Recall.announced_at,
        Organization.name,
        QualityRecord.id,
        QualityRecord.leaf_index,
    )
    .join(Organization, Organization.id == Recall.announced_by_id)
    .outerjoin(QualityRecord, QualityRecord.id == Recall.record_id)
    .where(Recall.id == bindparam("id"))
)
_STATE = select(
    ScannedCode.scan_count,
    ScannedCode.first_scan_at,
    ScannedCode.first_region,
    ScannedCode.first_channel,
).where(ScannedCode.slot == bindparam("slot"), ScannedCode.sequence == bindparam("sequence"))
_LOG_COLUMNS = [
    "scanned_at",
    "code",
    "slot",
    "sequence",
    "organization_id",
    "product_id",
    "batch_id",
    "verdict",
    "reasons",
    "scan_count",
    "trade_org_id",
    "channel",
    "region",
    "region_source",
    "region_precision",
    "latitude",
    "longitude",
    "ip_hash",
    "device_hash",
]


def _counter(dialect: str) -> Any:
    """The per-code counter: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``.

    The first query of a code creates its row with count 1, later ones add 1, atomically on
    both engines, so of any number of simultaneous first queries exactly one sees 1.
    """
    upsert = insert_for(dialect, ScannedCode).values(
        slot=bindparam("slot"),
        sequence=bindparam("sequence"),
        organization_id=bindparam("owner"),
        scan_count=1,
        first_scan_at=bindparam("now"),
        first_region=bindparam("region"),
        first_channel=bindparam("channel"),
        last_scan_at=bindparam("now"),
        last_region=bindparam("region"),
        last_device_hash=bindparam("device"),
    )
    # The same device asking again within records.RELOAD_WINDOW (a reload, a language switch) is
    # the same query: the count stays. A NULL device never equals anything, so callers
    # without a device cookie count every time.
    same_query = and_(
        ScannedCode.last_device_hash == upsert.excluded.last_device_hash,
        ScannedCode.last_scan_at > bindparam("since"),
    )
    return upsert.on_conflict_do_update(
        index_elements=[ScannedCode.slot, ScannedCode.sequence],
        set_={
            "scan_count": ScannedCode.scan_count + case((same_query, 0), else_=1),
            "last_scan_at": upsert.excluded.last_scan_at,
            "last_region": upsert.excluded.last_region,
            "last_device_hash": upsert.excluded.last_device_hash,
        },
    ).returning(
        ScannedCode.scan_count,
        ScannedCode.first_scan_at,
        ScannedCode.first_region,
        ScannedCode.first_channel,
    )


#: The segment holding a sequence number and everything the answer shows about it.
CONTEXT = Prepared(_CONTEXT)

RECALL = Prepared(_RECALL)
STATE = Prepared(_STATE)
LOG = Prepared(insert(Scan), column_keys=_LOG_COLUMNS)
COUNTER = {name: Prepared(_counter(name)) for name in ("sqlite", "postgresql")}


#: Whether an organisation is a registered distributor of a brand.
PARTNER = Prepared(
    select(Distributor.id)
    .where(
        Distributor.enterprise_id == bindparam("brand"),
        Distributor.organization_id == bindparam("org"),
    )
    .limit(1)
)

_ROLLUP_KEY = (
    "day",
    "hour",
    "organization_id",
    "product_id",
    "batch_id",
    "province",
    "city",
    "channel",
    "verdict",
    "shard",
)
_ROLLUP_COUNTS = ("scans", "firsts", "repeats", "trade")


def _rollup(dialect: str, prefix: str = "") -> Any:
    """Add one scan's counts (or a rebuild's sums) to its bucket: one upsert, no read.
    Its parameters are the column names, after ``prefix``."""
    upsert = insert_for(dialect, ScanRollup).values(
        {name: bindparam(prefix + name) for name in _ROLLUP_KEY + _ROLLUP_COUNTS}
    )
    table = ScanRollup.__table__.c
    return upsert.on_conflict_do_update(
        index_elements=[table[name] for name in _ROLLUP_KEY],
        set_={name: table[name] + upsert.excluded[name] for name in _ROLLUP_COUNTS},
    )


#: One scan's counts added to its rollup bucket (verify/rollups.py builds the parameters).
ROLLUP = {name: Prepared(_rollup(name)) for name in ("sqlite", "postgresql")}

#: A day already over that a late scan was counted in (analytics/fold.py refolds it).
STALE = {
    name: Prepared(insert_for(name, StaleDay).values(day=bindparam("day")).on_conflict_do_nothing())
    for name in ("sqlite", "postgresql")
}


def _logged_and_rolled() -> Any:
    """PostgreSQL: the scan-log row and its rollup bucket in one statement, one round trip.

    The scan's INSERT is a data-modifying CTE of the rollup's upsert; both run in the one
    statement, so they commit or fail together as the two statements did. The parameters
    are LOG's, and ROLLUP's after ``rollup_`` (a bucket's key has 0 where the scan has
    NULL). The scan row sets no key column, so a key of (id, scanned_at) on a partitioned
    table is filled the same way.
    """
    logged = insert(Scan).values({name: bindparam(name) for name in _LOG_COLUMNS}).cte("logged")
    return _rollup("postgresql", ROLLUP_PREFIX).add_cte(logged)


#: What LOG_AND_ROLLUP's rollup parameters start with.
ROLLUP_PREFIX = "rollup_"


#: On PostgreSQL, LOG and ROLLUP together (SQLite runs them apart: no DML in a CTE).
LOG_AND_ROLLUP = Prepared(_logged_and_rolled())
