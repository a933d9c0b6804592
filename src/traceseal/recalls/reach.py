"""Recall reach: where the recalled goods are now, and how many of them.

For a selection of a product's items (a recall, a lot, a code run or part of one, or the
lots produced in a time window), every item that appears in an EPCIS event is followed
forward through its own events and those of the cases and pallets it was packed in (the
containment timeline of ``epcis.trace``). Its last movement decides where it is:

- ``held``: its newest event with a business location, other than a shipment, left it
  there (received, stored, packed, or never shipped from the factory);
- ``in_transit``: its newest movement was a shipment (or a return) not received yet, to
  the destination the shipment named;
- ``sold``: sold to a consumer (``retail_selling``), so no holder can take it back;
- ``assigned``: it never left the brand's site in any event, but the brand gave its code
  range or lot to a distributor (docs/logistics.md): that distributor holds it.

Holders are grouped by place, with quantities; each names the organisation a person can
call: the distributor whose site the GLN is, else whoever captured the deciding event.
Codes are computed, not stored (docs/codes.md), so items are found through the events
that name them: an item in no event has no known place and is counted as ``untracked``
only when the selection is a lot or a run whose size is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun, CodeSegment
from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.codes.service import Keyring, resolve_code
from traceseal.epcis.models import Event, EventEpc
from traceseal.epcis.trace import TimelineEvent, trace
from traceseal.errors import InvalidInput
from traceseal.logistics.service import expected_custody, gln_of, location_names
from traceseal.orgs.models import Organization
from traceseal.recalls.models import Recall
from traceseal.registry.models import Batch, Product

__all__ = ["Holder", "Reach", "Selection", "reach"]

_ARRIVED = frozenset({"receiving", "arriving", "accepting", "storing", "stocking"})
_SENT = frozenset({"shipping", "departing"})
#: Items followed in one reach, which runs inside its request: one trace per group of items
#: that share their events (a case), and one code look-up per item that never moved (about
#: 1 ms each on the 2-core VM). A larger recall needs a job of its own, as label exports
#: have (not built yet).
MAX_ITEMS = 20_000


@dataclass(frozen=True, slots=True)
class Selection:
    """Which items of ``product``: all, some lots, part of a code run."""

    product: Product
    batch_ids: frozenset[int] | None = None
    run: CodeRun | None = None
    #: Sequence numbers ``start .. stop - 1`` of the run's slot.
    sequences: tuple[int, int] | None = None
    description: str = ""


@dataclass(slots=True)
class Holder:
    status: str
    gln: str | None
    place: str | None
    organization: str | None
    quantity: int = 0
    #: The newest deciding event among its items (UTC).
    since: datetime | None = None


@dataclass(slots=True)
class Reach:
    gtin: str
    product: str
    selection: str
    items: int = 0
    holders: list[Holder] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for holder in self.holders:
            counts[holder.status] = counts.get(holder.status, 0) + holder.quantity
        return counts


@dataclass(slots=True)
class _Where:
    status: str
    gln: str | None
    event: TimelineEvent | None


def _items(session: Session, keyring: Keyring, selection: Selection) -> list[list[str]]:
    """The items of the selection named by some event, in groups that share their events.

    Items named by exactly the same events in the same roles (commissioned by one event,
    packed into one case by another) have the same journey: their case's and pallet's
    events are theirs alike. One trace answers for a whole group, so a reach costs one
    trace per case rather than per item."""
    gtin = selection.product.gtin
    prefix = f"https://id.gs1.org/01/{gtin}/21/"
    # A range on the key, not LIKE: one B-tree range scan on both engines (as the EPCIS
    # query's EPC patterns, epcis/query.py).
    rows = session.execute(
        select(EventEpc.epc, EventEpc.event, EventEpc.role).where(
            EventEpc.epc >= prefix, EventEpc.epc < prefix + "\U0010ffff"
        )
    )
    named: dict[str, set[tuple[int, int]]] = {}
    for epc, event, role in rows:
        named.setdefault(epc, set()).add((event, role))
    whole = selection.batch_ids is None and selection.run is None
    groups: dict[frozenset[tuple[int, int]], list[str]] = {}
    count = 0
    for epc in sorted(named):
        if not whole and not _selected(session, keyring, selection, epc[len(prefix) :]):
            continue
        count += 1
        if count > MAX_ITEMS:
            raise InvalidInput(f"a reach follows at most {MAX_ITEMS:,} items; narrow it")
        groups.setdefault(frozenset(named[epc]), []).append(epc)
    return list(groups.values())


def _selected(session: Session, keyring: Keyring, selection: Selection, serial: str) -> bool:
    try:
        code = parse_code(serial)
    except CodeFormatError:
        return False  # not one of our codes: in no lot or run of ours
    resolved = resolve_code(session, keyring, code)
    segment = resolved.segment
    if segment is None or resolved.sequence is None:
        return False
    if selection.batch_ids is not None and segment.batch_id not in selection.batch_ids:
        return False
    if selection.run is not None:
        if segment.run_id != selection.run.id:
            return False
        if selection.sequences is not None:
            start, stop = selection.sequences
            return start <= resolved.sequence < stop
    return True


def _where(events: list[TimelineEvent]) -> _Where:
    """The item's state after its timeline (oldest first)."""
    where = _Where("untracked", None, None)
    for event in events:
        step = event.biz_step
        body = event.body
        if step in _SENT:
            where = _Where("in_transit", gln_of(_destination(body)), event)
        elif step == "retail_selling":
            where = _Where("sold", None, event)
        elif body.get("bizLocation") or step in _ARRIVED:
            location = (body.get("bizLocation") or body.get("readPoint") or {}).get("id")
            where = _Where("held", gln_of(location) if location else None, event)
    return where


def _destination(body: dict[str, Any]) -> str | None:
    for entry in body.get("destinationList") or ():
        kind = str(entry.get("type", "")).rsplit("-", 1)[-1].rsplit(":", 1)[-1]
        if kind in ("location", "owning_party", "possessing_party"):
            return str(entry.get("destination"))
    return None


def _moved(events: list[TimelineEvent]) -> bool:
    return any(e.biz_step in _SENT or e.biz_step in _ARRIVED for e in events)


#: A holder's key: status, GLN, and the distributor for assigned items.
_Key = tuple[str, str | None, int | None]


def reach(
    session: Session,
    keyring: Keyring,
    selection: Selection,
    *,
    progress: Callable[[int], None] | None = None,
) -> Reach:
    """Where the selected items are, grouped by holder, largest first."""
    product = selection.product
    result = Reach(product.gtin, product.name, selection.description)
    groups: dict[_Key, Holder] = {}
    deciding: dict[_Key, int] = {}
    owner = product.organization_id
    for group in _items(session, keyring, selection):
        timeline = trace(session, group[0]).events
        where = _where(timeline)
        unmoved = not _moved(timeline) and where.status != "sold"
        for epc in group:
            _count(session, keyring, epc, owner, where, unmoved, groups, deciding)
        result.items += len(group)
        if progress is not None:
            progress(result.items)
    _name(session, groups, deciding)
    result.holders = sorted(
        groups.values(), key=lambda h: (-h.quantity, h.status, h.gln or "", h.organization or "")
    )
    return result


def _count(
    session: Session,
    keyring: Keyring,
    epc: str,
    owner: int,
    where: _Where,
    unmoved: bool,
    groups: dict[_Key, Holder],
    deciding: dict[_Key, int],
) -> None:
    """Add one item to its holder."""
    assigned = _assignment(session, keyring, epc, owner) if unmoved else None
    if assigned is not None:
        key: _Key = ("assigned", None, assigned[0])
        holder = groups.setdefault(key, Holder("assigned", None, None, assigned[1]))
    else:
        key = (where.status, where.gln, None)
        holder = groups.setdefault(key, Holder(where.status, where.gln, None, None))
    holder.quantity += 1
    if where.event is not None and (holder.since is None or where.event.event_time > holder.since):
        holder.since = where.event.event_time
        deciding[key] = where.event.leaf_index


def _assignment(session: Session, keyring: Keyring, epc: str, owner: int) -> tuple[int, str] | None:
    """The distributor a code's range or lot was assigned to, if any."""
    try:
        code = parse_code(epc.rsplit("/", 1)[1])
    except CodeFormatError:
        return None
    resolved = resolve_code(session, keyring, code)
    if resolved.segment is None or resolved.sequence is None:
        return None
    custody = expected_custody(
        session,
        owner=owner,
        slot=code.slot,
        sequence=resolved.sequence,
        batch_id=resolved.segment.batch_id,
        journey=None,
    )
    return None if custody is None else (custody.distributor_id, custody.distributor)


def _name(
    session: Session,
    groups: dict[_Key, Holder],
    deciding: dict[_Key, int],
) -> None:
    """Each place's registered name, and the organisation to call about it."""
    names = location_names(session, {h.gln for h in groups.values() if h.gln})
    capturers = dict(
        session.execute(
            select(Event.id, Organization.name)
            .join(Organization, Organization.id == Event.organization_id)
            .where(Event.id.in_(sorted(set(deciding.values()))))
        ).all()
    )
    for key, holder in groups.items():
        if holder.gln is not None:
            holder.place = names.get(holder.gln)
        if holder.organization is None:
            # A registered site names its distributor; else whoever recorded the event
            # (a receiver records its own receiving; a shipper the shipment it sent).
            holder.organization = holder.place or capturers.get(deciding.get(key, -1))


# --- selections ------------------------------------------------------------------------


def of_batches(product: Product, batches: Iterable[Batch], description: str) -> Selection:
    return Selection(product, frozenset(b.id for b in batches), description=description)


def produced_between(
    session: Session, product: Product, first: date | None, last: date | None
) -> Selection:
    """The lots of ``product`` produced from ``first`` to ``last`` (inclusive)."""
    query = select(Batch).where(Batch.product_id == product.id)
    if first is not None:
        query = query.where(Batch.production_date >= first)
    if last is not None:
        query = query.where(Batch.production_date <= last)
    batches = list(session.scalars(query))
    return of_batches(product, batches, f"produced {first or '…'} to {last or '…'}")


def of_run(run: CodeRun, product: Product, start: int, stop: int) -> Selection:
    """Sequence numbers ``start .. stop - 1`` of ``run``'s slot."""
    return Selection(
        product,
        run=run,
        sequences=(start, stop),
        description=f"run {run.id}, {stop - start:,} codes",
    )


def segment_products(session: Session, run: CodeRun) -> set[int]:
    """The products a run's activated segments were bound to (through their lots)."""
    ids = session.scalars(
        select(Batch.product_id)
        .join(CodeSegment, CodeSegment.batch_id == Batch.id)
        .where(CodeSegment.run_id == run.id)
        .distinct()
    )
    found = set(ids)
    if run.product_id is not None:
        found.add(run.product_id)
    return found


def of_recall(recall: Recall) -> Selection:
    """What a recall takes off the market: its lot, or every lot of its product."""
    if recall.batch is None:
        return Selection(recall.product, description=f"recall {recall.id}: every lot")
    return of_batches(recall.product, [recall.batch], f"recall {recall.id}: lot {recall.batch.lot}")
