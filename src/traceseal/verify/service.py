"""Verification: what one query of one code means, used by every channel (web, QR, API, SMS...).

The steps, cheapest first (docs/verification.md):

1. format and Damm check: a typo is ``mistyped`` and needs no storage at all;
2. slot lookup and one FF1 decryption: a sequence number never issued is ``not_found``;
3. the segment holding the sequence number: ``inactive``, ``void``, or active and bound to
   a batch, which may be ``recalled``;
4. the GTIN and lot from the Digital Link must match the code's product and batch, or the
   answer is ``suspicious``;
5. the per-code counter is bumped by one atomic upsert, and the count decides between
   ``genuine`` (first query), ``genuine_repeat`` and ``suspicious`` (over the product's limit).

Every answer about a well-formed code is appended to the scan log. The service takes a
session and never commits; client addresses and devices arrive already hashed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, or_, select

from traceseal.alerts.models import Alert, Severity
from traceseal.codes.models import CodeRun, CodeSegment, CodeState
from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.codes.service import Keyring
from traceseal.db import Prepared, db_time, insert_for, py_date, py_time
from traceseal.epcis.service import code_epc
from traceseal.epcis.trace import Trace, glns, trace
from traceseal.errors import InvalidInput
from traceseal.geo.locate import locate
from traceseal.logistics.models import Distributor
from traceseal.logistics.service import location_names
from traceseal.orgs.models import Organization
from traceseal.quality.facts import QualityFacts, programme_fact, quality_facts
from traceseal.quality.models import Programme, QualityRecord
from traceseal.recalls.models import Recall
from traceseal.registry.gtin import check_lot, normalize_gtin
from traceseal.registry.models import Batch, Product
from traceseal.risk.service import RiskEngine, Scanned
from traceseal.verify.models import Channel, Scan, ScannedCode, Verdict
from traceseal.verify.regions import parse_region

__all__ = [
    "BatchFacts",
    "ProductFacts",
    "Query",
    "RecallFacts",
    "Verification",
    "verify",
]


#: A device asking about the same code again within this time is not a new query.
RELOAD_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Query:
    """One verification request, as a channel received it."""

    code: str
    gtin: str | None = None
    lot: str | None = None
    channel: Channel = Channel.API
    region: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    ip_hash: str | None = None
    device_hash: str | None = None
    #: False for HEAD requests, link previews and crawlers: answer, but count nothing.
    record: bool = True
    #: An authenticated retail or distributor scan (weighs more as diversion evidence). It is
    #: logged with the checking organisation but never counts as a consumer's query.
    trade: bool = False
    trade_org_id: int | None = None
    #: The region the client's address maps to (geo.locate.IpRegions), if any.
    ip_region: str | None = None
    #: What placed the scan in ``region``, and how finely (filled in by verify()).
    region_source: str | None = None
    region_precision: str | None = None


@dataclass(frozen=True, slots=True)
class ProductFacts:
    gtin: str
    name: str
    brand: str
    category: str
    specification: str
    image_url: str


@dataclass(frozen=True, slots=True)
class BatchFacts:
    lot: str
    production_date: date | None
    expiry_date: date | None


@dataclass(frozen=True, slots=True)
class RecallFacts:
    reason: str
    instructions: str
    contact: str
    announced_at: datetime
    #: Who announced it, and its signed record and log leaf (None: announced before 0006).
    signed_by: str = ""
    record: int | None = None
    leaf_index: int | None = None


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    #: The code as 20 digits; None when the input was not a well-formed code.
    code: str | None
    scan_count: int = 0
    first_scan_at: datetime | None = None
    first_region: str | None = None
    product: ProductFacts | None = None
    batch: BatchFacts | None = None
    organization: str | None = None
    reasons: tuple[str, ...] = ()
    recall: RecallFacts | None = None
    detail: str = ""
    #: The product's journey from its EPCIS events (genuine, suspicious and recalled codes).
    trace: Trace | None = None
    #: The registered names of the places the journey names (GLN -> name).
    places: dict[str, str] = field(default_factory=dict)
    #: Certificates, reports, ratings and programme (active codes of a known product).
    quality: QualityFacts | None = None
    #: Slot owner, for the scan log and reports; not shown to consumers as an id.
    organization_id: int | None = field(default=None, repr=False)
    product_id: int | None = field(default=None, repr=False)


def _check_coordinates(query: Query) -> None:
    if (query.latitude is None) != (query.longitude is None):
        raise InvalidInput("give both lat and lon, or neither", field="lat")
    if query.latitude is not None and not -90 <= query.latitude <= 90:
        raise InvalidInput("lat must be between -90 and 90", field="lat")
    if query.longitude is not None and not -180 <= query.longitude <= 180:
        raise InvalidInput("lon must be between -180 and 180", field="lon")


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
_STATE = select(ScannedCode.scan_count, ScannedCode.first_scan_at, ScannedCode.first_region).where(
    ScannedCode.slot == bindparam("slot"), ScannedCode.sequence == bindparam("sequence")
)
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
        last_scan_at=bindparam("now"),
        last_region=bindparam("region"),
        last_device_hash=bindparam("device"),
    )
    # The same device asking again within RELOAD_WINDOW (a reload, a language switch) is
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
    ).returning(ScannedCode.scan_count, ScannedCode.first_scan_at, ScannedCode.first_region)


# Statements built and compiled once per engine kind, run on the DBAPI cursor: per request
# SQLAlchemy's own work would cost more than the queries (bench/verify.py).
CONTEXT = Prepared(_CONTEXT)

#: A critical clone or diversion alert on the code that its brand has not closed yet.
OPEN_ALERT = Prepared(
    select(Alert.id)
    .where(
        Alert.code == bindparam("code"),
        Alert.acknowledged_at.is_(None),
        Alert.severity == Severity.CRITICAL.value,
        # Spelt out: an IN list would compile to a placeholder Prepared cannot send.
        or_(Alert.kind == "clone", Alert.kind == "diversion"),
    )
    .limit(1)
)
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


def _trusted_trader(connection: Connection, owner: int, trader: int | None) -> bool:
    if trader is None:
        return False
    if trader == owner:
        return True
    return PARTNER.run(connection, {"brand": owner, "org": trader}).fetchone() is not None


def _count(
    connection: Connection, query: Query, slot: int, sequence: int, owner: int, now: datetime
) -> tuple[int, datetime | None, str | None]:
    """Count this query of an active code: (count, first query's time, its region)."""
    params = {
        "slot": slot,
        "sequence": sequence,
        "owner": owner,
        "now": db_time(now, connection.dialect),
        "since": db_time(now - RELOAD_WINDOW, connection.dialect),
        "region": query.region,
        "device": query.device_hash,
    }
    count, first_at, first_region = (
        COUNTER[connection.dialect.name].run(connection, params).fetchone()
    )
    return int(count), py_time(first_at), first_region


def _history(
    connection: Connection, slot: int, sequence: int
) -> tuple[int, datetime | None, str | None]:
    """The code's count and first query, read without counting."""
    row = STATE.run(connection, {"slot": slot, "sequence": sequence}).fetchone()
    return (0, None, None) if row is None else (int(row[0]), py_time(row[1]), row[2])


def _log(
    connection: Connection,
    query: Query,
    result: Verification,
    slot: int,
    sequence: int | None,
    batch_id: int | None,
    now: datetime,
) -> None:
    if not query.record:
        return
    LOG.run(
        connection,
        {
            "scanned_at": db_time(now, connection.dialect),
            "code": result.code,
            "slot": slot,
            "sequence": sequence,
            "organization_id": result.organization_id,
            "product_id": result.product_id,
            "batch_id": batch_id,
            "verdict": result.verdict.value,
            "reasons": ",".join(result.reasons),
            "scan_count": result.scan_count,
            "trade_org_id": query.trade_org_id,
            "channel": query.channel.value,
            "region": query.region,
            "region_source": query.region_source,
            "region_precision": query.region_precision,
            # About 100 m: enough to place a shop, not a home.
            "latitude": None if query.latitude is None else round(query.latitude, 3),
            "longitude": None if query.longitude is None else round(query.longitude, 3),
            "ip_hash": query.ip_hash,
            "device_hash": query.device_hash,
        },
    )


def verify(
    connection: Connection,
    keyring: Keyring,
    query: Query,
    *,
    now: datetime,
    risk: RiskEngine | None = None,
) -> Verification:
    """Answer one query. Raises InvalidInput for input that is not a code at all.

    The caller owns the transaction: the counter bump and the scan-log row commit together.
    It is a Core connection, not an ORM session: nothing here needs the ORM, and on this
    path the session's bookkeeping would cost a tenth of the request. With ``risk``, each
    counted query of an active code is also judged for diversion and cloning (risk/).
    """
    # Every field is checked before the code, so bad input is an error whatever the code.
    gtin = None if query.gtin is None else normalize_gtin(query.gtin)
    if query.lot is not None:
        check_lot(query.lot)
    _check_coordinates(query)
    query = _with_region(query)
    try:
        code = parse_code(query.code)
    except CodeFormatError as exc:
        if exc.reason == "mistyped":
            return Verification(Verdict.MISTYPED, None, detail=exc.detail)
        raise InvalidInput(exc.detail, field="code") from exc
    text = code.text

    cipher = keyring.cipher_for(connection, code.slot)
    sequence = None if cipher is None else cipher.sequence(code)
    row = (
        None
        if sequence is None
        else CONTEXT.run(connection, {"slot": code.slot, "sequence": sequence}).fetchone()
    )
    if row is None or sequence is None or sequence >= row[1]:
        # A made-up code in a real slot is news for the slot's owner.
        owner = keyring.slot_owner(code.slot)
        result = Verification(Verdict.NOT_FOUND, text, organization_id=owner)
        _log(connection, query, result, code.slot, sequence, None, now)
        return result

    (
        state,
        _stop,
        batch_id,
        owner,
        org_name,
        product_id,
        product_gtin,
        name,
        brand,
        category,
        specification,
        image_url,
        scan_limit,
        lot,
        produced,
        expires,
        recall_id,
        *programme,
    ) = row
    product = (
        None
        if product_id is None
        else ProductFacts(product_gtin, name, brand, category, specification, image_url)
    )
    batch = None if lot is None else BatchFacts(lot, py_date(produced), py_date(expires))
    facts = {
        "product": product,
        "batch": batch,
        "organization": org_name,
        "organization_id": owner,
        "product_id": product_id,
    }
    if state != CodeState.ACTIVE:
        verdict = Verdict.INACTIVE if state == CodeState.ISSUED else Verdict.VOID
        result = Verification(verdict, text, **facts)
        _log(connection, query, result, code.slot, sequence, batch_id, now)
        return result

    reasons: list[str] = []
    if gtin is not None and gtin != product_gtin:
        reasons.append("gtin_mismatch")
    if query.lot is not None and query.lot != lot:
        reasons.append("lot_mismatch")
    recall = None
    if recall_id is not None:
        reason, instructions, contact, announced_at, announcer, record, leaf = RECALL.run(
            connection, {"id": recall_id}
        ).fetchone()
        recall = RecallFacts(
            reason,
            instructions,
            contact,
            py_time(announced_at),  # type: ignore[arg-type]  # NOT NULL column: never None
            announcer,
            record,
            leaf,
        )
    if not query.record:
        # HEAD requests, link previews, linkset requests: answered, never counted, and shown
        # no history, so a crawler cannot learn which harvested codes are still unscanned.
        count, first_at, first_region = 0, None, None
    elif recall is not None or reasons or query.trade:
        # Not a consumer's query of a genuine item on sale: logged, but the code's count is
        # left alone, so neither a copied label on the wrong product nor a shop checking goods
        # at receipt uses up the buyer's first query.
        count, first_at, first_region = _history(connection, code.slot, sequence)
    else:
        count, first_at, first_region = _count(connection, query, code.slot, sequence, owner, now)
    journey = None if product_gtin is None else trace(connection, code_epc(product_gtin, text))
    places = location_names(connection, glns(journey)) if journey and journey.events else {}
    # Asked before risk evaluates this scan: an alert this very scan raises (a diverted
    # item's first trade scan) is news for the brand, not yet the answer's.
    alerted = (
        recall is None
        and not reasons
        and OPEN_ALERT.run(connection, {"code": text}).fetchone() is not None
    )
    risky: tuple[str, ...] = ()
    # Trade evidence only from the brand or a distributor it registered: a rival's key must
    # not be able to raise diversion alerts, which turn the brand's genuine codes suspicious.
    trusted = query.trade and _trusted_trader(connection, owner, query.trade_org_id)
    if risk is not None and (count > 0 or trusted) and recall is None and not reasons:
        finding = risk.evaluate(
            connection,
            Scanned(
                owner=owner,
                code=text,
                slot=code.slot,
                sequence=sequence,
                batch_id=batch_id,
                lot=lot,
                count=count,
                region=query.region,
                latitude=query.latitude,
                longitude=query.longitude,
                ip_hash=query.ip_hash,
                device_hash=query.device_hash,
                trade=trusted,
                journey=journey,
            ),
            now=now,
        )
        risky = finding.signals if finding.suspicious else ()
    if recall is not None:
        verdict = Verdict.RECALLED
    elif reasons:
        verdict = Verdict.SUSPICIOUS
    elif risky:
        verdict = Verdict.SUSPICIOUS
        reasons.extend(risky)
    elif alerted:
        # Until the brand closes a critical clone or diversion alert on this code, no answer
        # may call it simply genuine: the next buyer may hold the copy.
        verdict = Verdict.SUSPICIOUS
        reasons.append("under_investigation")
    elif count > scan_limit:
        verdict = Verdict.SUSPICIOUS
        reasons.append("scan_limit")
    elif count <= 1:
        verdict = Verdict.GENUINE
    else:
        verdict = Verdict.GENUINE_REPEAT
    quality = (
        None
        if product_id is None
        else quality_facts(
            connection,
            product_id=product_id,
            owner_id=owner,
            category=category,
            batch_id=batch_id,
            programme=programme_fact(programme),
            today=now.date(),
        )
    )
    result = Verification(
        verdict,
        text,
        quality=quality,
        scan_count=count,
        first_scan_at=first_at,
        first_region=first_region,
        reasons=tuple(reasons),
        recall=recall,
        trace=journey,
        places=places,
        **facts,
    )
    _log(connection, query, result, code.slot, sequence, batch_id, now)
    return result


def _with_region(query: Query) -> Query:
    """The query placed: its region from the client, its coordinates or its address."""
    place = locate(parse_region(query.region), query.latitude, query.longitude, query.ip_region)
    return replace(
        query, region=place.region, region_source=place.source, region_precision=place.precision
    )
