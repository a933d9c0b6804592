"""Storing prepared EPCIS events: the job row, the events, their index rows and log leaves.

Everything here runs inside the caller's write transaction (on SQLite, while it holds the
database's one write lock), so it does as little as it can: the events arrive prepared
(capture.prepare_events, in worker processes for large documents) as rows ready to insert,
and are written with one ``executemany`` per table and chunk, straight on the DBAPI cursor.

An event's row id is its leaf index in the log, so "every event has its leaf" is a property
of the key, and ``/ledger/leaves/{id}`` is the event's leaf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, column, insert, select, table
from sqlalchemy.orm import Session

from traceseal.db import Prepared, db_time
from traceseal.epcis.capture import LEAF_KIND, Capture, Chunk, Plan, require_capturer
from traceseal.epcis.corrections import Declarations
from traceseal.epcis.errors import SecurityException, ValidationException
from traceseal.epcis.models import (
    CaptureJob,
    Event,
    EventAccess,
    EventBizTransaction,
    EventEpc,
)
from traceseal.epcis.subscriptions import on_capture
from traceseal.ledger import service as ledger
from traceseal.orgs.models import Organization, Role
from traceseal.registry.models import Product

#: Values per IN list when asking which hashes and eventIDs are already stored.
_LOOKUP_CHUNK = 500


def store(session: Session, org: Organization, capture: Capture) -> CaptureJob:
    """Write a prepared capture in the caller's transaction and return its job.

    Events whose hash is already stored (or repeats within the document) are captured once:
    re-sending a document after a lost response is safe. A document that reuses another
    event's eventID for different content is refused whole. "Already stored" means among the
    events this organisation captured: what other tenants captured never changes the answer.
    """
    writer = Writer(session, org, capture.plan, len(capture.chunk))
    writer.add(capture.chunk)
    return writer.finish()


class Writer:
    """Writes one document's prepared events, chunk after chunk, in the caller's transaction.

    Chunks must come in document order (pipeline.py hands them over as workers finish them).
    Nothing is committed here: the caller's unit of work commits the whole document or, if a
    later chunk is refused, rolls every chunk back.
    """

    def __init__(self, session: Session, org: Organization, plan: Plan, event_count: int) -> None:
        require_capturer(org)
        self.session, self.org, self.plan = session, org, plan
        self.job = CaptureJob(
            capture_id=plan.capture_id,
            organization_id=org.id,
            created_at=plan.received_at,
            finished_at=plan.received_at,
            running=False,
            success=True,
            error_behaviour="rollback",
            source_format=plan.source_format,
            event_count=event_count,
            duplicate_count=0,
            context=json.dumps(plan.context, ensure_ascii=False, sort_keys=True),
        )
        session.add(self.job)
        session.flush()
        connection = session.connection()
        if connection.dialect.name != plan.dialect:
            raise ValueError(
                f"the capture was prepared for {plan.dialect}, not {connection.dialect.name}"
            )
        self._connection = connection
        # The columns every event row of this document shares (EVENT_COLUMNS' order).
        self._shared = (self.job.id, org.id, db_time(plan.received_at, connection.dialect))
        #: Hash and eventID (-> position) of every event of this document seen so far.
        self._hashes: set[str] = set()
        self._ids: dict[str, int] = {}
        self._owners: dict[str, int | None] = {}
        self._partner_of: set[int] | None = None
        self._declarations = Declarations(
            session,
            organization_id=org.id,
            operator=org.role == Role.OPERATOR.value,
            job_id=self.job.id,
            capture_id=plan.capture_id,
            now=plan.received_at,
        )

    def add(self, chunk: Chunk) -> None:
        self._authorise(chunk, self._brand_owners(chunk))
        # Declarations of events their declarer may declare mark those events once this
        # chunk is stored (corrections.py); they are no new events themselves.
        declared = self._declarations.claimed(chunk, self._ids) if chunk.declarations else set()
        fresh = self._fresh(chunk, declared)
        self.job.duplicate_count += len(chunk) - len(fresh) - len(declared)
        if fresh:
            self._store(chunk, fresh)
        if declared:
            self.job.duplicate_count += self._declarations.honour(chunk, declared)

    def _store(self, chunk: Chunk, fresh: list[int]) -> None:
        ids = ledger.append(
            self.session,
            [(LEAF_KIND, chunk.leaves[i]) for i in fresh],
            now=self.plan.received_at,
            leaf_hashes=[chunk.leaf_hashes[i] for i in fresh],
        )
        owners = self._brand_owners(chunk)
        me, shared = self.org.id, self._shared
        event_rows: list[tuple[Any, ...]] = []
        epc_rows: list[tuple[Any, ...]] = []
        transaction_rows: list[tuple[Any, ...]] = []
        access_rows: list[tuple[Any, ...]] = []
        for i, event_id in zip(fresh, ids, strict=True):
            event_rows.append((event_id, event_id, *shared, *chunk.rows[i]))
            epc_rows.extend([(epc, event_id, role) for epc, role in chunk.epcs[i]])
            if chunk.transactions[i]:
                transaction_rows.extend(
                    [(kind, value, event_id) for kind, value in chunk.transactions[i]]
                )
            readers = {me}
            for gtin in chunk.gtins[i]:
                owner = owners[gtin]
                if owner is not None:
                    readers.add(owner)
            access_rows.extend([(reader, event_id) for reader in readers])
        connection = self._connection
        _EVENTS.run_rows(connection, event_rows)
        if epc_rows:
            _EPCS.run_rows(connection, epc_rows)
        if transaction_rows:
            _TRANSACTIONS.run_rows(connection, transaction_rows)
        _ACCESS.run_rows(connection, access_rows)
        if chunk.declarations:
            self._declarations.standalone(
                [
                    (event_id, chunk.declarations[i])
                    for i, event_id in zip(fresh, ids, strict=True)
                    if i in chunk.declarations
                ]
            )

    def finish(self) -> CaptureJob:
        self.session.flush()
        # Stream subscriptions' deliveries, queued in this transaction (subscriptions.py).
        on_capture(self.session, self.job)
        return self.job

    def _fresh(self, chunk: Chunk, declared: set[int]) -> list[int]:
        """Positions in ``chunk`` of the events not yet stored, in order.

        Repeats within the document are caught with the hashes and eventIDs of its earlier
        chunks; events this organisation stored before with one query per few hundred events.
        Another organisation's events are not looked at: whether they hold the same event or
        eventID is not the capturer's to learn (the same event captured by two parties is
        two records, each its capturer's; a journey shows it once, trace.py).
        """
        hashes, ids, start = self._hashes, self._ids, chunk.start
        candidates: list[int] = []
        for i, (digest, event_id) in enumerate(zip(chunk.hashes, chunk.ids, strict=True)):
            if digest in hashes or i in declared:
                continue
            other = ids.get(event_id)
            if other is not None:
                raise _reused(
                    start + i,
                    f"events {other} and {start + i} share the eventID {event_id!r} but differ",
                )
            hashes.add(digest)
            ids[event_id] = start + i
            candidates.append(i)
        me = self.org.id
        stored = _existing(
            self._connection, me, "event_hash", [chunk.hashes[i] for i in candidates]
        )
        fresh = [i for i in candidates if chunk.hashes[i] not in stored]
        taken = _existing(self._connection, me, "event_id", [chunk.ids[i] for i in fresh])
        for i in fresh:
            if chunk.ids[i] in taken:
                raise _reused(
                    start + i,
                    f"event {start + i}: the eventID {chunk.ids[i]!r} is already used by a "
                    "different event this organisation captured",
                )
        return fresh

    def _authorise(self, chunk: Chunk, owners: dict[str, int | None]) -> None:
        """Refuse the whole document at its first event about another brand's product that
        this organisation may not record (docs/epcis.md, "Who may capture what").

        An event may name products the capturer owns, products of no brand here (pallets,
        locations and third-party goods have no registered GTIN), and products of a brand
        that registered the capturer as its distributor, for a partner's business steps
        only. The operator may record anything.
        """
        if self.org.role == Role.OPERATOR.value:
            return
        me = self.org.id
        for i, gtins in enumerate(chunk.gtins):
            foreign = [gtin for gtin in gtins if owners[gtin] not in (None, me)]
            if not foreign:
                continue
            step = chunk.rows[i][_BIZ_STEP]
            partners = self._partners()
            for gtin in foreign:
                if step in PARTNER_STEPS and owners[gtin] in partners:
                    continue
                named = next((epc for epc, _ in chunk.epcs[i] if gtin in epc), gtin)
                position = chunk.start + i
                why = (
                    f"a partner records only {', '.join(sorted(PARTNER_STEPS))}"
                    if owners[gtin] in partners
                    else "it is another brand's product, and that brand has not registered "
                    "this organisation as its distributor"
                )
                raise SecurityException(
                    f"event {position}: this organisation may not record events about "
                    f"{named} ({why}); nothing was captured",
                    event_index=position,
                    field=f"/epcisBody/eventList/{position}",
                )

    def _partners(self) -> set[int]:
        """The brand owners that registered this organisation as their distributor."""
        if self._partner_of is None:
            self._partner_of = set(
                self.session.scalars(
                    select(_DISTRIBUTORS.c.enterprise_id).where(
                        _DISTRIBUTORS.c.organization_id == self.org.id
                    )
                )
            )
        return self._partner_of

    def _brand_owners(self, chunk: Chunk) -> dict[str, int | None]:
        """Brand owner of each GTIN the chunk names (None: no registered product)."""
        owners = self._owners
        missing = sorted({gtin for gtins in chunk.gtins for gtin in gtins} - owners.keys())
        for part in _slices(missing, _LOOKUP_CHUNK):
            owners.update(dict.fromkeys(part))
            found = self.session.execute(
                select(Product.gtin, Product.organization_id).where(Product.gtin.in_(part))
            )
            owners.update((gtin, owner) for gtin, owner in found)
        return owners


#: What a brand's distributor or logistics partner may record about the brand's goods: their
#: movement and custody (CBV 2.0 business steps), never their making, inspection, repair or
#: destruction, which only the brand records.
PARTNER_STEPS = frozenset(
    {
        "accepting",
        "arriving",
        "departing",
        "holding",
        "loading",
        "packing",
        "picking",
        "receiving",
        "retail_selling",
        "returning",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "storing",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)
#: Position of the normalised bizStep in a prepared event row (capture.prepare_events).
_BIZ_STEP = 5
#: The logistics feature's distributor registrations, read here by name: logistics builds on
#: EPCIS (custody comes from events), so EPCIS must not import it.
_DISTRIBUTORS = table("distributors", column("enterprise_id"), column("organization_id"))


def _reused(position: int, detail: str) -> ValidationException:
    return ValidationException(
        detail,
        event_index=position,
        field=f"/epcisBody/eventList/{position}/eventID",
    )


def _existing(
    connection: Connection, organization_id: int, column: str, values: list[str]
) -> set[str]:
    """Which of ``values`` are stored in ``epcis_events.column`` among the events of
    ``organization_id`` (a unique index leads with the organisation, then the column).

    Written as plain SQL on the DBAPI cursor: a SELECT built by SQLAlchemy for each few
    hundred values cost more than the index probes themselves.
    """
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    found: set[str] = set()
    cursor = connection.connection.cursor()
    try:
        for part in _slices(values, _LOOKUP_CHUNK):
            marks = ",".join([mark] * len(part))
            cursor.execute(
                f"SELECT {column} FROM epcis_events "  # noqa: S608 - a fixed column name and placeholders only
                f"WHERE organization_id = {mark} AND {column} IN ({marks})",
                [organization_id, *part],
            )
            found.update(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return found


def _slices(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: epcis_events columns in the order the writer fills them: the row's id and leaf index,
#: the document's job, organisation and record time, then capture.Chunk.rows.
EVENT_COLUMNS = [
    "id",
    "leaf_index",
    "capture_job_id",
    "organization_id",
    "record_time",
    "event_id",
    "event_hash",
    "event_type",
    "action",
    "event_time",
    "biz_step",
    "disposition",
    "read_point",
    "biz_location",
    "body",
]
_EVENTS = Prepared(insert(Event), column_keys=EVENT_COLUMNS)
_EPCS = Prepared(insert(EventEpc), column_keys=["epc", "event", "role"])
_TRANSACTIONS = Prepared(insert(EventBizTransaction), column_keys=["type", "value", "event"])
_ACCESS = Prepared(insert(EventAccess), column_keys=["organization_id", "event"])
