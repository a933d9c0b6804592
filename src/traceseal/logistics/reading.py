"""What people read of logistics in the consoles: distributors page by page, goods that
moved (from the EPCIS events the reader may read), a distributor's territories per brand,
and the submissions of the scanning page.

Reads only; tenancy as everywhere: a brand reads its own distributors and the events it
may read (``epcis.query.visible_to``: its own captures and those naming its products), a
distributor its own records and captures. Pages are newest first, 25 rows, with the
``before`` cursor of people/service.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from traceseal.epcis.models import EpcRole, Event, EventAccess, EventEpc
from traceseal.epcis.query import visible_to
from traceseal.geo.regions import table
from traceseal.logistics.models import (
    Distributor,
    DistributorLocation,
    ScanSubmission,
    TerritoryRegion,
)
from traceseal.logistics.service import gln_of, location_names
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import OVERSIGHT, mine
from traceseal.people.service import Page
from traceseal.registry.models import Product

__all__ = [
    "MOVES",
    "Movement",
    "Partner",
    "Receipt",
    "distributor_goods",
    "distributor_page",
    "movement_counts",
    "movements",
    "partners_of",
    "receipts",
]

PAGE_SIZE = 25
#: The CBV business steps that move goods between parties: what "goods" lists show.
MOVES = ("shipping", "receiving", "departing", "arriving")
#: Most events one page looks through when it filters by a distributor's places: the
#: places are inside each event's JSON, not in an indexed column, so the filter reads
#: events newest first and stops here rather than walk a brand's whole history.
SCAN_LIMIT = 2000
_ITEM = "https://id.gs1.org/01/"
_UNIT = "https://id.gs1.org/00/"


@dataclass(frozen=True)
class Region:
    code: str
    zh: str
    en: str


def regions_named(codes: Iterable[str]) -> list[Region]:
    names = table()
    return [Region(c, names.label(c, "zh-CN"), names.label(c, "en")) for c in codes]


# --- distributors -----------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    """One distributor record as a list shows it."""

    id: int
    name: str
    territory: list[Region]
    sites: list[str]
    created_at: datetime
    #: The brand that registered it (a distributor's own view lists one per brand).
    brand: str


def _partners(session: Session, rows: list[Distributor]) -> list[Partner]:
    if not rows:
        return []
    ids = [d.id for d in rows]
    org_ids = {d.organization_id for d in rows} | {d.enterprise_id for d in rows}
    orgs = dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
        ).all()
    )
    regions: dict[int, list[str]] = {i: [] for i in ids}
    for distributor_id, region in session.execute(
        select(TerritoryRegion.distributor_id, TerritoryRegion.region)
        .where(TerritoryRegion.distributor_id.in_(ids))
        .order_by(TerritoryRegion.region)
    ):
        regions[distributor_id].append(region)
    sites: dict[int, list[str]] = {i: [] for i in ids}
    for distributor_id, gln in session.execute(
        select(DistributorLocation.distributor_id, DistributorLocation.gln)
        .where(DistributorLocation.distributor_id.in_(ids))
        .order_by(DistributorLocation.gln)
    ):
        sites[distributor_id].append(gln)
    return [
        Partner(
            d.id,
            orgs[d.organization_id],
            regions_named(regions[d.id]),
            sites[d.id],
            d.created_at,
            orgs[d.enterprise_id],
        )
        for d in rows
    ]


def distributor_page(
    session: Session, brand: Organization, *, before: int | None = None, limit: int = PAGE_SIZE
) -> Page[Partner]:
    """The brand's distributors, newest first (the operator and regulators: everyone's)."""
    query = select(Distributor).order_by(Distributor.id.desc()).limit(limit + 1)
    if before:
        query = query.where(Distributor.id < before)
    rows = list(session.scalars(mine(query, Distributor.enterprise_id, brand, OVERSIGHT)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(_partners(session, rows[:limit]), older)


def partners_of(session: Session, distributor: Organization) -> list[Partner]:
    """A distributor organisation's records, one per brand it serves: its territories."""
    rows = session.scalars(
        select(Distributor)
        .where(Distributor.organization_id == distributor.id)
        .order_by(Distributor.id)
    )
    return _partners(session, list(rows))


def glns_of(session: Session, distributor: Distributor) -> frozenset[str]:
    return frozenset(
        session.scalars(
            select(DistributorLocation.gln).where(
                DistributorLocation.distributor_id == distributor.id
            )
        )
    )


# --- goods moved ------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One shipping or receiving event, as a person reads it."""

    id: int
    at: datetime
    step: str
    #: Who recorded it (the capturing organisation).
    recorded_by: str
    source: str | None
    destination: str | None
    #: GLNs of ``source`` and ``destination`` (for filtering by a distributor's places).
    glns: frozenset[str]
    items: int
    #: Cases and pallets (SSCCs).
    units: int
    products: list[str]


def _place(body: dict[str, Any], field: str, key: str) -> str | None:
    for entry in body.get(field) or ():
        if isinstance(entry, dict) and entry.get(key):
            return str(entry[key])
    return None


def _ends(body: dict[str, Any], step: str | None) -> tuple[str | None, str | None]:
    """Where the goods came from and went to: the source and destination lists, else the
    event's own place (a receipt happens at its bizLocation, a shipment leaves it)."""
    here = (body.get("bizLocation") or {}).get("id") or (body.get("readPoint") or {}).get("id")
    source = _place(body, "sourceList", "source")
    destination = _place(body, "destinationList", "destination")
    if step in ("receiving", "arriving"):
        destination = destination or here
    else:
        source = source or here
    return source, destination


def _named(identifier: str | None, names: dict[str, str]) -> str | None:
    gln = gln_of(identifier)
    if gln is None:
        return identifier
    return names.get(gln) or f"GLN {gln}"


def _contents(session: Session, ids: list[int]) -> dict[int, tuple[int, int, list[str]]]:
    """Per event: items, units, and the names of the products its items are."""
    counts: dict[int, list[Any]] = {i: [0, 0, {}] for i in ids}
    if not ids:
        return {}
    rows = session.execute(
        select(EventEpc.event, EventEpc.epc).where(
            EventEpc.event.in_(ids),
            EventEpc.role.in_([EpcRole.EPC, EpcRole.CHILD, EpcRole.INPUT, EpcRole.OUTPUT]),
        )
    )
    gtins: set[str] = set()
    for event, epc in rows:
        if epc.startswith(_ITEM):
            gtin = epc[len(_ITEM) : len(_ITEM) + 14]
            counts[event][0] += 1
            counts[event][2][gtin] = None
            gtins.add(gtin)
        elif epc.startswith(_UNIT):
            counts[event][1] += 1
    names = dict(
        session.execute(select(Product.gtin, Product.name).where(Product.gtin.in_(gtins))).all()
    )
    return {
        event: (items, units, [names.get(g, g) for g in found])
        for event, (items, units, found) in counts.items()
    }


def _movements(session: Session, rows: list[Event]) -> list[Movement]:
    bodies = {row.id: json.loads(row.body) for row in rows}
    ends = {row.id: _ends(bodies[row.id], row.biz_step) for row in rows}
    glns = {
        row.id: frozenset(g for g in map(gln_of, ends[row.id]) if g is not None) for row in rows
    }
    names = location_names(session, set().union(*glns.values()) if glns else set())
    contents = _contents(session, [row.id for row in rows])
    orgs = dict(
        session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({row.organization_id for row in rows})
            )
        ).all()
    )
    found = []
    for row in rows:
        source, destination = ends[row.id]
        items, units, products = contents.get(row.id, (0, 0, []))
        found.append(
            Movement(
                row.id,
                row.event_time,
                row.biz_step or "",
                orgs.get(row.organization_id, ""),
                _named(source, names),
                _named(destination, names),
                glns[row.id],
                items,
                units,
                products,
            )
        )
    return found


def movements(
    session: Session,
    viewer: Organization,
    *,
    steps: Collection[str] = MOVES,
    places: frozenset[str] | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[Movement]:
    """Shipping and receiving events ``viewer`` may read, newest first; with ``places``
    (GLNs), only those from or to one of them (looking through at most SCAN_LIMIT)."""
    query = select(Event).where(Event.biz_step.in_(list(steps))).order_by(Event.id.desc())
    scope = visible_to(viewer)
    if scope is not None:
        query = query.where(scope)
    if before:
        query = query.where(Event.id < before)
    if places is None:
        rows = list(session.scalars(query.limit(limit + 1)))
        older = rows[limit - 1].id if len(rows) > limit else None
        return Page(_movements(session, rows[:limit]), older)
    return _sifted(session, query, lambda _row, moved: bool(moved.glns & places), limit)


def _sifted(
    session: Session,
    query: Select[Any],
    keep: Callable[[Event, Movement], bool],
    limit: int,
) -> Page[Movement]:
    """The page of ``query``'s events that ``keep`` keeps, looking through at most
    SCAN_LIMIT events (the test needs each event's JSON: no index can answer it)."""
    kept: list[Movement] = []
    seen = 0
    chunk = 200
    while len(kept) <= limit and seen < SCAN_LIMIT:
        rows = list(session.scalars(query.limit(chunk)))
        if not rows:
            break
        seen += len(rows)
        kept.extend(
            moved
            for row, moved in zip(rows, _movements(session, rows), strict=True)
            if keep(row, moved)
        )
        query = query.where(Event.id < rows[-1].id)
        if len(rows) < chunk:
            break
    older = kept[limit - 1].id if len(kept) > limit else None
    return Page(kept[:limit], older)


def distributor_goods(
    session: Session,
    distributor: Organization,
    *,
    steps: Collection[str] = MOVES,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[Movement]:
    """A distributor's goods: the events it recorded, and those the brands that registered
    it recorded from or to one of its registered sites (a brand's shipment to it). Nothing
    else of a brand's traffic: only events touching the distributor's own sites."""
    records = list(
        session.scalars(select(Distributor).where(Distributor.organization_id == distributor.id))
    )
    sites = frozenset(gln for record in records for gln in glns_of(session, record))
    brands = {record.enterprise_id for record in records}
    if not sites:
        return movements(session, distributor, steps=steps, before=before, limit=limit)
    readers = [distributor.id, *brands]
    query = (
        select(Event)
        .where(
            Event.biz_step.in_(list(steps)),
            exists().where(EventAccess.organization_id.in_(readers), EventAccess.event == Event.id),
        )
        .order_by(Event.id.desc())
    )
    if before:
        query = query.where(Event.id < before)
    own = distributor.id
    return _sifted(
        session,
        query,
        lambda row, moved: row.organization_id == own or bool(moved.glns & sites),
        limit,
    )


def movement_counts(session: Session, viewer: Organization, since: datetime) -> dict[str, int]:
    """How many shipping and receiving events ``viewer`` may read since ``since``, by step."""
    query = (
        select(Event.biz_step, func.count())
        .where(Event.biz_step.in_(list(MOVES)), Event.event_time >= since)
        .group_by(Event.biz_step)
    )
    scope = visible_to(viewer)
    if scope is not None:
        query = query.where(scope)
    return {str(step): int(count) for step, count in session.execute(query)}


# --- the scanning page's submissions ------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """One submission of the scanning page, as a person reads it."""

    at: datetime
    action: str
    site: str
    codes: list[str]
    products: list[str]
    count: int


def receipts(
    session: Session,
    org: Organization,
    *,
    action: str = "",
    page: int = 1,
    limit: int = PAGE_SIZE,
) -> tuple[list[Receipt], bool]:
    """The organisation's scanning-page submissions, newest first; and whether more follow.

    Submissions are keyed by the client's id, not a number, so pages are counted.
    """
    query = (
        select(ScanSubmission)
        .where(ScanSubmission.organization_id == org.id)
        .order_by(ScanSubmission.created_at.desc(), ScanSubmission.submission_id)
    )
    if action:
        # The action is inside the stored answer; it is written by json.dumps, so this is
        # its exact spelling.
        query = query.where(ScanSubmission.result.contains(f'"action": "{action}"'))
    rows = list(session.scalars(query.offset((page - 1) * limit).limit(limit + 1)))
    answers = [json.loads(row.result) for row in rows[:limit]]
    names = location_names(session, {a.get("location", "") for a in answers})
    found = []
    for row, answer in zip(rows, answers, strict=False):
        scans = answer.get("scans") or []
        products = list(dict.fromkeys(s.get("name") or s.get("gtin") or "" for s in scans))
        site = str(answer.get("location", ""))
        found.append(
            Receipt(
                at=row.created_at,
                action=str(answer.get("action", "")),
                site=names.get(site) or f"GLN {site}",
                codes=[str(s.get("serial") or s.get("epc")) for s in scans],
                products=[p for p in products if p],
                count=len(scans),
            )
        )
    return found, len(rows) > limit
