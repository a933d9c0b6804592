"""Registering distributors and their territories, assigning codes, and reading custody.

Management functions take an ORM session and never commit (the edge does). The custody
read (:func:`expected_custody`) is on the verification hot path: Core statements compiled
once (db.Prepared), at most three small indexed reads, none at all for a code that has no
assignment and no events.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun
from traceseal.db import Executor, Prepared, connection_of
from traceseal.epcis.identifiers import location_key
from traceseal.epcis.trace import Trace
from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.geo.regions import overlaps, table
from traceseal.logistics.models import (
    Assignment,
    Distributor,
    DistributorLocation,
    TerritoryRegion,
)
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import create_organization
from traceseal.orgs.tenancy import OVERSIGHT, is_mine, mine
from traceseal.registry.models import Batch

__all__ = [
    "Custody",
    "ask_custody",
    "assign_batch",
    "assign_range",
    "expected_custody",
    "get_distributor",
    "gln_of",
    "list_distributors",
    "register_distributor",
    "set_locations",
    "set_territory",
]

_GLN = re.compile(r"^[0-9]{13}$")
#: Most regions one territory may list (a whole country is 34 provinces).
MAX_REGIONS = 500
#: Business steps after which the goods are at the event's bizLocation.
_ARRIVED = frozenset({"receiving", "arriving", "accepting", "storing", "stocking"})
#: Business steps whose destination says where the goods are going.
_SENT = frozenset({"shipping", "departing"})


@dataclass(frozen=True, slots=True)
class Custody:
    """Who was meant to sell a code, where, and what says so."""

    distributor_id: int
    distributor: str
    territory: tuple[str, ...]
    #: "epcis" (a shipping or receiving event reached it), "range" or "batch" (assigned).
    source: str


# --- management ------------------------------------------------------------------------


def _check_gln(gln: str) -> str:
    gln = gln.strip()
    if not _GLN.match(gln):
        raise InvalidInput(f"{gln!r} is not a 13-digit GLN", field="glns")
    digits = [int(c) for c in gln]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10) % 10
    if check != digits[12]:
        raise InvalidInput(f"GLN {gln} fails its check digit", field="glns")
    return gln


def _check_regions(regions: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    regions_table = table()
    for raw in regions:
        try:
            code = regions_table.parse(raw)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="territory") from None
        if code is not None:
            found[code] = None
    if len(found) > MAX_REGIONS:
        raise InvalidInput(f"a territory lists at most {MAX_REGIONS} regions", field="territory")
    return list(found)


def register_distributor(
    session: Session,
    enterprise: Organization,
    name: str,
    *,
    glns: Sequence[str] = (),
    territory: Sequence[str] = (),
) -> tuple[Distributor, str | None]:
    """Record ``name`` as a distributor of ``enterprise``; returns it and, if its
    organisation was created here, that organisation's first API key (shown once).

    An existing organisation of role distributor with that name is linked, not duplicated:
    one distributor may carry several brands, and the brand learns nothing of the others
    (each brand's record holds its own GLNs, territory and assignments).

    Organisation names are unique on the platform, so a name held by an organisation of any
    other role can be neither linked nor created: that is refused with one answer whoever
    holds it, which names neither the holder nor its role (docs/logistics.md).
    """
    if enterprise.role != Role.ENTERPRISE.value:
        raise InvalidInput("distributors belong to an enterprise", field="enterprise")
    name = name.strip()
    org = session.scalar(select(Organization).where(Organization.name == name))
    key: str | None = None
    if org is None:
        org, key = create_organization(session, name, Role.DISTRIBUTOR)
    elif org.role != Role.DISTRIBUTOR.value:
        raise Conflict(
            f"the name {name!r} is taken on this platform by an organisation that cannot be "
            "registered as a distributor; register the distributor under its full registered "
            "name, or another name that tells it apart (e.g. with its city)",
            field="name",
        )
    taken = session.scalar(
        select(Distributor.id).where(
            Distributor.enterprise_id == enterprise.id, Distributor.organization_id == org.id
        )
    )
    if taken is not None:
        raise Conflict(f"{name!r} is already distributor {taken}", field="name")
    distributor = Distributor(enterprise_id=enterprise.id, organization_id=org.id)
    session.add(distributor)
    session.flush()
    set_locations(session, distributor, glns)
    set_territory(session, distributor, territory)
    return distributor, key


def set_locations(session: Session, distributor: Distributor, glns: Sequence[str]) -> None:
    """Replace the distributor's GLNs."""
    checked = list(dict.fromkeys(_check_gln(g) for g in glns))
    session.execute(
        delete(DistributorLocation).where(DistributorLocation.distributor_id == distributor.id)
    )
    session.add_all(DistributorLocation(gln=g, distributor_id=distributor.id) for g in checked)
    session.flush()


def set_territory(session: Session, distributor: Distributor, regions: Sequence[str]) -> None:
    """Replace the distributor's territory with ``regions`` (GB/T 2260 codes)."""
    checked = _check_regions(regions)
    session.execute(delete(TerritoryRegion).where(TerritoryRegion.distributor_id == distributor.id))
    session.add_all(TerritoryRegion(distributor_id=distributor.id, region=r) for r in checked)
    session.flush()


def list_distributors(session: Session, viewer: Organization) -> list[Distributor]:
    query = select(Distributor).order_by(Distributor.id)
    # A distributor's own record is the one it is; a brand's are those it registered.
    if viewer.role == Role.DISTRIBUTOR.value:
        return list(session.scalars(query.where(Distributor.organization_id == viewer.id)))
    return list(session.scalars(mine(query, Distributor.enterprise_id, viewer, OVERSIGHT)))


def get_distributor(session: Session, viewer: Organization, distributor_id: int) -> Distributor:
    """The distributor record, if ``viewer`` may see it (else NotFound, never Forbidden)."""
    distributor = session.get(Distributor, distributor_id)
    if distributor is None or not (
        is_mine(distributor.enterprise_id, viewer, OVERSIGHT)
        or distributor.organization_id == viewer.id
    ):
        raise NotFound(f"no distributor {distributor_id}", field="distributor")
    return distributor


def distributor_facts(session: Session, distributor: Distributor) -> dict[str, object]:
    """What the API shows of a distributor."""
    org = session.get(Organization, distributor.organization_id)
    assert org is not None
    glns = session.scalars(
        select(DistributorLocation.gln)
        .where(DistributorLocation.distributor_id == distributor.id)
        .order_by(DistributorLocation.gln)
    )
    regions = session.scalars(
        select(TerritoryRegion.region)
        .where(TerritoryRegion.distributor_id == distributor.id)
        .order_by(TerritoryRegion.region)
    )
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.distributor_id == distributor.id)
        .order_by(Assignment.id)
    )
    names = table()
    return {
        "id": distributor.id,
        "enterprise_id": distributor.enterprise_id,
        "organization_id": org.id,
        "name": org.name,
        "glns": list(glns),
        "territory": [
            {"code": r, "name": names.label(r, "zh-CN"), "name_en": names.label(r, "en")}
            for r in regions
        ],
        "assignments": [
            {
                "id": a.id,
                "slot": a.slot,
                "start": a.start,
                "stop": a.stop,
                "batch_id": a.batch_id,
                "created_at": a.created_at,
            }
            for a in assignments
        ],
        "created_at": distributor.created_at,
    }


def assign_range(
    session: Session, distributor: Distributor, run: CodeRun, start: int, stop: int
) -> Assignment:
    """Give sequence numbers ``[start, stop)`` of ``run`` to the distributor."""
    if run.organization_id != distributor.enterprise_id:
        raise NotFound(f"no code run {run.id}", field="run")
    assignment = Assignment(
        distributor_id=distributor.id, slot=run.slot, start=start, stop=stop, batch_id=None
    )
    session.add(assignment)
    session.flush()
    return assignment


def assign_batch(session: Session, distributor: Distributor, batch: Batch) -> Assignment:
    """Give a whole batch to the distributor (every code activated for it)."""
    assignment = Assignment(distributor_id=distributor.id, batch_id=batch.id)
    session.add(assignment)
    session.flush()
    return assignment


# --- custody on the verification path ---------------------------------------------------

# The newest range assignment holding the code, and the newest of its batch.
_BY_RANGE = (
    select(Assignment.distributor_id)
    .where(
        Assignment.slot == bindparam("slot"),
        Assignment.start <= bindparam("sequence"),
        Assignment.stop > bindparam("sequence"),
    )
    .order_by(Assignment.id.desc())
    .limit(1)
    .scalar_subquery()
)
_BY_BATCH = (
    select(Assignment.distributor_id)
    .where(Assignment.batch_id == bindparam("batch"))
    .order_by(Assignment.id.desc())
    .limit(1)
    .scalar_subquery()
)
#: GLNs looked up at once: the newest few places a code went are all that can matter.
_GLN_SLOTS = 8
_BY_GLN = Prepared(
    select(DistributorLocation.gln, Distributor.id)
    .join(Distributor, Distributor.id == DistributorLocation.distributor_id)
    .where(
        DistributorLocation.gln.in_([bindparam(f"g{i}") for i in range(_GLN_SLOTS)]),
        Distributor.enterprise_id == bindparam("owner"),
    )
)
_DISTRIBUTOR = (
    select(Distributor.id, Organization.name, TerritoryRegion.region)
    .select_from(Distributor)
    .join(Organization, Organization.id == Distributor.organization_id)
    .outerjoin(TerritoryRegion, TerritoryRegion.distributor_id == Distributor.id)
)
#: A distributor's name and territory, one row per region (one with None: no territory).
_FACTS = Prepared(_DISTRIBUTOR.where(Distributor.id == bindparam("id")))
#: The same for the distributor the code was assigned to without events (rules 2 and 3 of
#: expected_custody), and whether by range: one round trip where there were two or three.
_ASSIGNED = Prepared(
    _DISTRIBUTOR.add_columns(_BY_RANGE.label("by_range")).where(
        Distributor.id == func.coalesce(_BY_RANGE, _BY_BATCH)
    )
)
_PREFIXES = ("https://id.gs1.org/414/", "https://id.gs1.org/417/")


def gln_of(identifier: str | None) -> str | None:
    """The GLN of a location or party identifier (SGLN/PGLN URN or Digital Link), or None.

    >>> gln_of("urn:epc:id:sgln:9506000.00002.0")
    '9506000000022'
    """
    if not identifier:
        return None
    try:
        link = location_key(identifier)
    except Exception:  # an identifier EPCIS accepted but that is no GS1 key: not ours
        return None
    for prefix in _PREFIXES:
        if link.startswith(prefix):
            return link[len(prefix) : len(prefix) + 13]
    return None


def _event_glns(journey: Trace) -> list[str]:
    """GLNs the code's events moved it to, newest first."""
    found: list[str] = []
    for event in reversed(journey.events):
        step = event.biz_step
        body = event.body
        if step in _SENT:
            for entry in body.get("destinationList") or ():
                gln = gln_of(entry.get("destination"))
                if gln:
                    found.append(gln)
        elif step in _ARRIVED:
            location = body.get("bizLocation") or {}
            gln = gln_of(location.get("id"))
            if gln:
                found.append(gln)
    return found


def expected_custody(
    executor: Executor,
    *,
    owner: int,
    slot: int,
    sequence: int,
    batch_id: int | None,
    journey: Trace | None,
) -> Custody | None:
    """Where a code is meant to be sold, by the rule of docs/logistics.md:

    1. the newest shipping (destination) or receiving (bizLocation) event reaching the code,
       itself or through the cases and pallets it was packed in, whose GLN is one of the
       owner's distributors';
    2. else the newest range assignment holding the code;
    3. else the newest assignment of its batch;
    4. else None: nothing was decided, and no scan can be a diversion.
    """
    connection = connection_of(executor)
    distributor_id: int | None = None
    source = ""
    glns = _event_glns(journey) if journey is not None and journey.events else []
    if glns:
        newest = list(dict.fromkeys(glns))[:_GLN_SLOTS]
        params: dict[str, object] = {"owner": owner}
        # Unused places repeat the newest GLN: one compiled statement serves every count.
        params.update({f"g{i}": newest[min(i, len(newest) - 1)] for i in range(_GLN_SLOTS)})
        rows = _BY_GLN.run(connection, params).fetchall()
        if rows:
            by_gln = dict(rows)
            distributor_id = next((by_gln[g] for g in glns if g in by_gln), None)
            source = "epcis"
    if distributor_id is None:
        params = {"slot": slot, "sequence": sequence, "batch": batch_id}
        rows = _ASSIGNED.run(connection, params).fetchall()  # sent ahead by ask_custody
        if rows:
            source = "batch" if rows[0][3] is None else "range"
    else:
        rows = _FACTS.run(connection, {"id": distributor_id}).fetchall()
    if not rows:
        return None
    # Each row: the distributor's id, its name, one region of its territory (or None).
    territory = tuple(sorted(row[2] for row in rows if row[2]))
    return Custody(int(rows[0][0]), rows[0][1], territory, source)


def ask_custody(executor: Executor, *, slot: int, sequence: int, batch_id: int | None) -> None:
    """Send ahead (db.Prepared.send) the read :func:`expected_custody` makes when no event
    names one of the owner's places: the code's assignment, by range or by batch."""
    params = {"slot": slot, "sequence": sequence, "batch": batch_id}
    _ASSIGNED.send(connection_of(executor), params)


def in_territory(territory: Sequence[str], region: str) -> bool:
    """Whether a scan placed in ``region`` may lie in ``territory``.

    A region coarser than a territory entry counts as possibly inside (a scan placed only
    to Guangdong may be in Shenzhen): a diversion must be shown, not guessed.

    >>> in_territory(["440000"], "440305"), in_territory(["440300"], "110105")
    (True, False)
    """
    return any(overlaps(entry, region) for entry in territory)


def location_names(session: Executor, glns: Collection[str]) -> dict[str, str]:
    """The name a person reads for each registered GLN: the distributor's organisation."""
    if not glns:
        return {}
    rows = session.execute(
        select(DistributorLocation.gln, Organization.name)
        .join(Distributor, Distributor.id == DistributorLocation.distributor_id)
        .join(Organization, Organization.id == Distributor.organization_id)
        .where(DistributorLocation.gln.in_(sorted(glns)))
    )
    return {str(gln): str(name) for gln, name in rows}
