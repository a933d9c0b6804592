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

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from traceseal.codes.models import CodeState
from traceseal.codes.sealcode import CodeFormatError, SealCode, parse_code
from traceseal.codes.service import Keyring
from traceseal.db import db_time, py_time, sends_ahead
from traceseal.epcis.service import code_epc
from traceseal.epcis.trace import Trace, glns, trace
from traceseal.epcis.trace import ask as ask_trace
from traceseal.errors import InvalidInput
from traceseal.geo.locate import locate
from traceseal.logistics.service import location_names
from traceseal.quality.facts import QualityFacts, quality_facts
from traceseal.quality.facts import ask as ask_quality
from traceseal.registry.gtin import check_lot, normalize_gtin
from traceseal.risk.service import RiskEngine, Scanned
from traceseal.verify.models import Verdict
from traceseal.verify.records import (
    RELOAD_WINDOW,
    UNTOLD,
    BatchFacts,
    Context,
    ProductFacts,
    Query,
    RecallFacts,
    Tally,
    Verification,
)
from traceseal.verify.regions import parse_region
from traceseal.verify.rollups import CHINA, SHARDS, rollup
from traceseal.verify.statements import (
    CONTEXT,
    COUNTER,
    LOG,
    LOG_AND_ROLLUP,
    PARTNER,
    RECALL,
    ROLLUP,
    ROLLUP_PREFIX,
    STALE,
    STATE,
)

__all__ = [
    "BatchFacts",
    "ProductFacts",
    "Query",
    "RecallFacts",
    "Verification",
    "admit",
    "ask_ahead",
    "count_query",
    "decide",
    "decode",
    "find",
    "judge",
    "mismatches",
    "story",
    "unused",
    "verify",
]


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
    query, gtin = admit(query)
    code = decode(query.code)
    if isinstance(code, Verification):
        return code
    sequence, context = find(connection, keyring, code)
    if context is None or context.state != CodeState.ACTIVE:
        result = unused(keyring, code, context)
        batch_id = None if context is None else context.batch_id
        return _logged(connection, query, result, code.slot, sequence, batch_id, now)

    reasons = mismatches(context, gtin, query.lot)
    recall = recall_facts(connection, context.recall_id)
    # A recalled code, or a copied label on the wrong product, is not a consumer's query of
    # a genuine item on sale: it is logged, but neither counted nor judged for risk.
    clean = recall is None and not reasons
    ask_ahead(connection, risk, context, judged=clean)
    tally = count_query(connection, query, context, now, counted=clean)
    journey, places = story(connection, context)
    risky = judge(connection, risk, query, context, tally, journey, now) if clean else ()
    verdict, why = decide(
        reasons,
        recalled=recall is not None,
        risky=risky,
        # Read with the context, before risk judges this scan: an alert this very scan
        # raises (a diverted item's first trade scan) is news for the brand, not yet the answer's.
        alerted=clean and context.alerted,
        count=tally.count,
        scan_limit=context.scan_limit,
    )
    result = Verification(
        verdict,
        context.code,
        quality=dossier(connection, context, now),
        scan_count=tally.count,
        first_scan_at=tally.first_at,
        first_region=tally.first_region,
        first_channel=tally.first_channel,
        reasons=why,
        recall=recall,
        trace=journey,
        places=places,
        **context.facts(),
    )
    return _logged(connection, query, result, code.slot, sequence, context.batch_id, now)


def admit(query: Query) -> tuple[Query, str | None]:
    """Check every field but the code, and place the query: (the query placed, its GTIN).

    Every field is checked before the code, so bad input is an error whatever the code.
    """
    gtin = None if query.gtin is None else normalize_gtin(query.gtin)
    if query.lot is not None:
        check_lot(query.lot)
    _check_coordinates(query)
    return _with_region(query), gtin


def decode(text: str) -> SealCode | Verification:
    """The code, or the answer for a mistyped one. Raises InvalidInput for one that is no code."""
    try:
        return parse_code(text)
    except CodeFormatError as exc:
        if exc.reason == "mistyped":
            return Verification(Verdict.MISTYPED, None, detail=exc.detail)
        raise InvalidInput(exc.detail, field="code") from exc


def find(
    connection: Connection, keyring: Keyring, code: SealCode
) -> tuple[int | None, Context | None]:
    """The code's sequence number (None: no such slot) and its segment, if it was issued."""
    cipher = keyring.cipher_for(connection, code.slot)
    sequence = None if cipher is None else cipher.sequence(code)
    if sequence is None:
        return None, None
    text = code.text
    row = CONTEXT.run(
        connection, {"slot": code.slot, "sequence": sequence, "code": text}
    ).fetchone()
    if row is None or sequence >= row[1]:  # row[1]: the segment's stop
        return sequence, None
    return sequence, Context.from_row(text, code.slot, sequence, row)


def unused(keyring: Keyring, code: SealCode, context: Context | None) -> Verification:
    """The answer for a code that is not on a product: never issued, not activated, void."""
    if context is None:
        # A made-up code in a real slot is news for the slot's owner.
        owner = keyring.slot_owner(code.slot)
        return Verification(Verdict.NOT_FOUND, code.text, organization_id=owner)
    verdict = Verdict.INACTIVE if context.state == CodeState.ISSUED else Verdict.VOID
    return Verification(verdict, context.code, **context.facts())


def mismatches(context: Context, gtin: str | None, lot: str | None) -> list[str]:
    """What the Digital Link claims that the code's product and batch contradict."""
    reasons = []
    if gtin is not None and gtin != context.gtin:
        reasons.append("gtin_mismatch")
    if lot is not None and lot != context.lot:
        reasons.append("lot_mismatch")
    return reasons


def recall_facts(connection: Connection, recall_id: int | None) -> RecallFacts | None:
    if recall_id is None:
        return None
    reason, instructions, contact, announced_at, announcer, record, leaf = RECALL.run(
        connection, {"id": recall_id}
    ).fetchone()
    return RecallFacts(
        reason,
        instructions,
        contact,
        py_time(announced_at),  # type: ignore[arg-type]  # NOT NULL column: never None
        announcer,
        record,
        leaf,
    )


def ask_ahead(
    connection: Connection, risk: RiskEngine | None, context: Context, *, judged: bool
) -> None:
    """Send the reads that :func:`story`, :func:`dossier` and :func:`judge` make, ahead of
    the count: on a pipelined PostgreSQL connection (connections.pipelined) the count's upsert
    brings all their results back in its round trip. Elsewhere it does nothing."""
    if not sends_ahead(connection):
        return
    if context.gtin is not None:
        ask_trace(connection, code_epc(context.gtin, context.code))
    if context.product_id is not None:
        ask_quality(
            connection,
            product_id=context.product_id,
            owner_id=context.owner,
            category=context.category,
        )
    if risk is not None and judged:
        risk.ask(
            connection, slot=context.slot, sequence=context.sequence, batch_id=context.batch_id
        )


def count_query(
    connection: Connection, query: Query, context: Context, now: datetime, *, counted: bool
) -> Tally:
    """The code's tally after this query, which adds one only if it is a consumer's."""
    if not query.record:
        # HEAD requests, link previews, linkset requests: answered, never counted, and shown
        # no history, so a crawler cannot learn which harvested codes are still unscanned.
        return UNTOLD
    if not counted or query.trade:
        # Logged, but the count is left alone, so neither a copied label on the wrong
        # product nor a shop checking goods at receipt uses up the buyer's first query.
        return _history(connection, context)
    return _bump(connection, query, context, now)


def story(connection: Connection, context: Context) -> tuple[Trace | None, dict[str, str]]:
    """The product's journey from its EPCIS events, and the names of the places it names."""
    if context.gtin is None:
        return None, {}
    journey = trace(connection, code_epc(context.gtin, context.code))
    return journey, location_names(connection, glns(journey)) if journey.events else {}


def judge(
    connection: Connection,
    risk: RiskEngine | None,
    query: Query,
    context: Context,
    tally: Tally,
    journey: Trace | None,
    now: datetime,
) -> tuple[str, ...]:
    """Risk's signals against this scan (diversion, cloning), if it makes the code suspicious."""
    if risk is None:
        return ()
    # Trade evidence only from the brand or a distributor it registered: a rival's key must
    # not be able to raise diversion alerts, which turn the brand's genuine codes suspicious.
    trusted = query.trade and _trusted_trader(connection, context.owner, query.trade_org_id)
    if tally.count == 0 and not trusted:
        return ()
    finding = risk.evaluate(
        connection,
        Scanned(
            owner=context.owner,
            code=context.code,
            slot=context.slot,
            sequence=context.sequence,
            batch_id=context.batch_id,
            lot=context.lot,
            count=tally.count,
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
    return finding.signals if finding.suspicious else ()


def decide(
    reasons: Sequence[str],
    *,
    recalled: bool,
    risky: Sequence[str],
    alerted: bool,
    count: int,
    scan_limit: int | None,
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict and its reasons, strongest evidence first. Pure: no storage."""
    if recalled:
        return Verdict.RECALLED, tuple(reasons)
    if reasons:
        return Verdict.SUSPICIOUS, tuple(reasons)
    if risky:
        return Verdict.SUSPICIOUS, tuple(risky)
    if alerted:
        # Until the brand closes a critical clone or diversion alert on this code, no answer
        # may call it simply genuine: the next buyer may hold the copy.
        return Verdict.SUSPICIOUS, ("under_investigation",)
    if scan_limit is not None and count > scan_limit:
        return Verdict.SUSPICIOUS, ("scan_limit",)
    return (Verdict.GENUINE if count <= 1 else Verdict.GENUINE_REPEAT), ()


def dossier(connection: Connection, context: Context, now: datetime) -> QualityFacts | None:
    """Certificates, reports, ratings and programme: for a code of a known product."""
    if context.product_id is None:
        return None
    return quality_facts(
        connection,
        product_id=context.product_id,
        owner_id=context.owner,
        category=context.category,
        batch_id=context.batch_id,
        programme=context.programme,
        today=now.date(),
    )


def _check_coordinates(query: Query) -> None:
    if (query.latitude is None) != (query.longitude is None):
        raise InvalidInput("give both lat and lon, or neither", field="lat")
    if query.latitude is not None and not -90 <= query.latitude <= 90:
        raise InvalidInput("lat must be between -90 and 90", field="lat")
    if query.longitude is not None and not -180 <= query.longitude <= 180:
        raise InvalidInput("lon must be between -180 and 180", field="lon")


def _trusted_trader(connection: Connection, owner: int, trader: int | None) -> bool:
    if trader is None:
        return False
    if trader == owner:
        return True
    return PARTNER.run(connection, {"brand": owner, "org": trader}).fetchone() is not None


def _bump(connection: Connection, query: Query, context: Context, now: datetime) -> Tally:
    """Count this query of an active code (statements.COUNTER: one atomic upsert)."""
    params = {
        "slot": context.slot,
        "sequence": context.sequence,
        "owner": context.owner,
        "now": db_time(now, connection.dialect),
        "since": db_time(now - RELOAD_WINDOW, connection.dialect),
        "region": query.region,
        "device": query.device_hash,
        "channel": query.channel.value,
    }
    count, first_at, first_region, first_channel = (
        COUNTER[connection.dialect.name].run(connection, params).fetchone()
    )
    return Tally(int(count), py_time(first_at), first_region, first_channel)


def _history(connection: Connection, context: Context) -> Tally:
    """The code's tally, read without counting."""
    row = STATE.run(connection, {"slot": context.slot, "sequence": context.sequence}).fetchone()
    return UNTOLD if row is None else Tally(int(row[0]), py_time(row[1]), row[2], row[3])


def _logged(
    connection: Connection,
    query: Query,
    result: Verification,
    slot: int,
    sequence: int | None,
    batch_id: int | None,
    now: datetime,
) -> Verification:
    """The answer, appended to the scan log unless the query is not to be recorded."""
    if not query.record:
        return result
    row = {
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
    }
    counts = _rolled(connection, now, row)
    if connection.dialect.name == "postgresql":
        rolled = {ROLLUP_PREFIX + name: value for name, value in counts.items()}
        LOG_AND_ROLLUP.run(connection, row | rolled)  # one round trip for both
    else:
        LOG.run(connection, row)
        ROLLUP[connection.dialect.name].run(connection, counts)
    return result


def _rolled(connection: Connection, now: datetime, row: dict[str, Any]) -> dict[str, Any]:
    """The parameters that add the scan to its rollup bucket, in the same transaction."""
    counts = rollup(
        now,
        organization_id=row["organization_id"],
        product_id=row["product_id"],
        batch_id=row["batch_id"],
        region=row["region"],
        channel=row["channel"],
        verdict=row["verdict"],
        scan_count=row["scan_count"],
        trade=row["trade_org_id"] is not None,
        sequence=row["sequence"],
        shards=SHARDS[connection.dialect.name],
    )
    day = counts["day"]
    if connection.dialect.name == "sqlite":
        counts["day"] = day.isoformat()  # SQLAlchemy's text form of a Date
    # A scan counted in a day that is already over (a late SMS, a replay) may miss the
    # analytics' day sums if they were folded before it: mark the day to refold. Today's
    # scans, nearly all of them, pay one date comparison.
    if day < datetime.now(CHINA).date():
        STALE[connection.dialect.name].run(connection, {"day": counts["day"]})
    return counts


def _with_region(query: Query) -> Query:
    """The query placed: its region from the client, its coordinates or its address."""
    place = locate(parse_region(query.region), query.latitude, query.longitude, query.ip_region)
    return replace(
        query, region=place.region, region_source=place.source, region_precision=place.precision
    )
