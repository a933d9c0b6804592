"""Events from the floor: what a dealer's phone or a packing line scanned, as EPCIS events.

A scan is whatever a camera or a hardware scanner read off a label: the item's Digital Link
QR (``https://host/01/{GTIN}/21/{code}``), its 20 printed digits typed in, a case's or
pallet's SSCC (``(00)`` + 18 digits, a GS1-128 read, an 18-digit number, or its Digital
Link), or an EPC URN. :func:`identify` turns each into the canonical Digital Link EPCIS
indexes; :func:`submit` turns one submission of the scanning page into an ObjectEvent or an
AggregationEvent with CBV 2.0 business step, disposition, read point and source or
destination, and :func:`pack` turns a packing line's ``parent,child`` rows into one
AggregationEvent per parent. Both capture through the EPCIS capture service
(``capture.prepare`` then ``writer.store``), so the capturer's rights, GS1's schema and the
log apply exactly as for a posted document.

Submissions carry a client-made id: a phone that was offline sends its queue again when the
connection returns, and a submission that arrives twice answers the first result and
captures nothing (``scan_submissions``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun
from traceseal.codes.sealcode import CodeFormatError, parse_code
from traceseal.codes.service import Keyring, resolve_code
from traceseal.epcis.capture import Capture, plan, prepare_events, require_capturer
from traceseal.epcis.gs1keys import check_digit
from traceseal.epcis.identifiers import check_identifier, to_digital_link
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.writer import store
from traceseal.errors import InvalidInput, NotFound
from traceseal.logistics.models import Distributor, DistributorLocation, ScanSubmission
from traceseal.orgs.models import Organization, Role
from traceseal.registry.models import Batch, Product

__all__ = [
    "Action",
    "Scanned",
    "Submission",
    "identify",
    "locations_of",
    "pack",
    "read_pairs",
    "submit",
]

_ROOT = "https://id.gs1.org"
_GLN = re.compile(r"^[0-9]{13}$")
_SSCC_FORMS = (
    re.compile(r"^\(00\)\s*([0-9]{18})$"),  # printed under a GS1-128 bar code
    re.compile(r"^\]C100([0-9]{18})$"),  # a scanner sending the symbology identifier
    re.compile(r"^([0-9]{18})$"),
)
#: An item's element string, as a scanner reads a GS1 DataMatrix: (01) GTIN, (21) serial.
_ELEMENT_ITEM = re.compile(r"^(?:\]d2|\]Q3)?\(?01\)?([0-9]{14})\(?21\)?([!-~]{1,20})$")
#: Most scans one submission or packing file may carry: a pallet of small items.
MAX_SCANS = 5000
#: How far in the future a scan's time may lie (phones' clocks drift).
_CLOCK_SKEW = timedelta(minutes=10)


class Action(StrEnum):
    RECEIVE = "receive"
    SHIP = "ship"
    PACK_CASE = "pack_case"
    PACK_PALLET = "pack_pallet"
    RETURN = "return"


#: CBV 2.0 business step and disposition per action (ObjectEvent OBSERVE, or for packing an
#: AggregationEvent ADD). A return is sent back towards its source: ``returning`` is not a
#: CBV business step, so it is ``shipping`` with the disposition ``returned``.
_CBV = {
    Action.RECEIVE: ("receiving", "in_progress"),
    Action.SHIP: ("shipping", "in_transit"),
    Action.RETURN: ("shipping", "returned"),
    Action.PACK_CASE: ("packing", "in_progress"),
    Action.PACK_PALLET: ("packing", "in_progress"),
}


@dataclass(frozen=True, slots=True)
class Scanned:
    """One identified scan: the EPC events name, and what a person reads about it."""

    epc: str
    #: "item" (a product's serialised item) or "unit" (a case or pallet: an SSCC).
    kind: str
    gtin: str | None = None
    #: The product's registered name, if any.
    name: str | None = None
    #: The seal code (items carrying one) or the SSCC.
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    submission_id: str
    action: Action
    location: str
    scans: Sequence[str]
    parent: str | None = None
    destination: str | None = None
    source: str | None = None
    scanned_at: datetime | None = None
    #: The phone's offset from UTC when it scanned, "+08:00".
    time_zone: str = "+08:00"


# --- identifying what was scanned ------------------------------------------------------


def _sscc(digits: str) -> Scanned:
    if check_digit(digits[:-1]) != digits[-1]:
        raise InvalidInput(f"SSCC {digits}: the check digit does not match", field="scans")
    return Scanned(f"{_ROOT}/00/{digits}", "unit", serial=digits)


def _product_of(session: Session, gtin: str) -> str | None:
    return session.scalar(select(Product.name).where(Product.gtin == gtin))


def _may_know(session: Session, caller: Organization, brand: int) -> bool:
    """Whether the caller may learn that a code of ``brand`` exists: the brand itself, a
    distributor it registered, or the operator. Anyone else is told what an unknown code
    gets, so the scanning API is no way round verification's limits on guessing codes."""
    if caller.role == Role.OPERATOR.value or caller.id == brand:
        return True
    partner = session.scalar(
        select(Distributor.id).where(
            Distributor.enterprise_id == brand, Distributor.organization_id == caller.id
        )
    )
    return partner is not None


def _seal_code(
    session: Session, keyring: Keyring, caller: Organization, text: str
) -> Scanned | None:
    """A typed seal code, or None when ``text`` is no well-formed code."""
    try:
        code = parse_code(text)
    except CodeFormatError as exc:
        if exc.reason == "mistyped":
            raise InvalidInput(f"{text}: {exc.detail}", field="scans") from None
        return None
    segment = resolve_code(session, keyring, code).segment
    run = None if segment is None else session.get(CodeRun, segment.run_id)
    if segment is None or run is None or not _may_know(session, caller, run.organization_id):
        raise NotFound(f"no code {code.text}", field="scans")
    product_id = session.scalar(
        select(
            func.coalesce(
                select(Batch.product_id).where(Batch.id == segment.batch_id).scalar_subquery(),
                select(CodeRun.product_id).where(CodeRun.id == segment.run_id).scalar_subquery(),
            )
        )
    )
    product = None if product_id is None else session.get(Product, product_id)
    if product is None:
        raise InvalidInput(f"code {code.text} is not bound to a product yet", field="scans")
    epc = f"{_ROOT}/01/{product.gtin}/21/{code.text}"
    return Scanned(epc, "item", product.gtin, product.name, code.text)


def identify(
    session: Session,
    keyring: Keyring,
    caller: Organization,
    raw: str,
    names: dict[str, str | None] | None = None,
) -> Scanned:
    """What one scan names. Raises InvalidInput for what is no item or logistic unit.

    Product names are public (the product page shows them), so a Digital Link or an SSCC
    needs no right to be named; a typed seal code is looked up only for its brand, the
    brand's distributors and the operator (:func:`_may_know`). Capturing the event is
    what checks the caller's right to record it.
    """
    # NFKC: what a Chinese keyboard types (full-width digits, brackets) reads as printed.
    text = unicodedata.normalize("NFKC", raw).strip().replace("\x1d", "")
    if not text or len(text) > 300:
        raise InvalidInput("an empty or overlong scan", field="scans")
    for form in _SSCC_FORMS:
        match = form.match(text)
        if match:
            return _sscc(match[1])
    element = _ELEMENT_ITEM.match(text)
    if element and not text.isdigit():
        text = f"{_ROOT}/01/{element[1]}/21/{element[2]}"
    if text.startswith(("http://", "https://", "urn:epc:id:")):
        link = to_digital_link(text)
        problem = check_identifier(text) if link == text else check_identifier(link)
        if problem is not None:
            raise InvalidInput(f"{raw.strip()[:80]}: {problem}", field="scans")
        path = link.removeprefix(_ROOT)
        if path.startswith("/00/"):
            return Scanned(link, "unit", serial=path[4:])
        parts = path.split("/")
        if len(parts) == 5 and parts[1] == "01" and parts[3] == "21":
            names = {} if names is None else names
            if parts[2] not in names:
                names[parts[2]] = _product_of(session, parts[2])
            return Scanned(link, "item", parts[2], names[parts[2]], parts[4])
        raise InvalidInput(
            f"{raw.strip()[:80]} names neither an item (GTIN and serial) nor a case or "
            "pallet (SSCC)",
            field="scans",
        )
    digits = re.sub(r"[\s-]", "", text)
    if len(digits) == 20 and digits.startswith("00") and digits.isascii() and digits.isdigit():
        # "00" + SSCC, a GS1-128 read without brackets. Never a seal code: key slots
        # start at 100 (codes.service.FIRST_SLOT), so a code's digits never begin "00".
        return _sscc(digits[2:])
    found = _seal_code(session, keyring, caller, text)
    if found is None:
        raise InvalidInput(
            f"{raw.strip()[:80]} is not a label this platform reads: scan the QR code, or type "
            "the 20-digit code or the case's 18-digit SSCC",
            field="scans",
        )
    return found


# --- locations -------------------------------------------------------------------------


def _gln(value: str, field: str) -> str:
    gln = value.strip()
    if not _GLN.match(gln) or check_digit(gln[:12]) != gln[12]:
        raise InvalidInput(f"{value!r} is not a GLN (13 digits, with its check digit)", field=field)
    return gln


def locations_of(session: Session, caller: Organization) -> list[str]:
    """The GLNs the brands registered as this distributor's sites, in order."""
    return list(
        session.scalars(
            select(DistributorLocation.gln)
            .join(Distributor, Distributor.id == DistributorLocation.distributor_id)
            .where(Distributor.organization_id == caller.id)
            .distinct()
            .order_by(DistributorLocation.gln)
        )
    )


def _own_location(session: Session, caller: Organization, value: str) -> str:
    """The scanning site: a distributor scans only at a site a brand registered for it
    (another party's site answers like an unknown one); brands and the operator record
    their own sites, which nothing here registers."""
    gln = _gln(value, "location")
    if caller.role == Role.DISTRIBUTOR.value and gln not in locations_of(session, caller):
        raise NotFound(f"no site {gln} of this organisation", field="location")
    return gln


def _place(gln: str) -> str:
    return f"{_ROOT}/414/{gln}"


# --- capture ---------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _document(events: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    return {
        "@context": [CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _iso(now),
        "epcisBody": {"eventList": events},
    }


def _capture(
    session: Session, caller: Organization, events: list[dict[str, Any]], now: datetime
) -> tuple[str, list[str]]:
    """Capture ``events`` in the caller's transaction; returns the capture id and eventIDs.

    The same path as ``POST /epcis/capture`` (validation, the capturer's rights, one log
    leaf per event), in the edge's transaction rather than one of its own, so the
    submission's record commits with its events or not at all."""
    require_capturer(caller)
    dialect = session.get_bind().dialect.name
    ready, raw = plan(
        _document(events, now),
        source_format="json",
        max_events=len(events),
        now=now,
        dialect=dialect,
    )
    chunk = prepare_events(ready, raw, 0)
    job = store(session, caller, Capture(ready, chunk))
    return job.capture_id, list(chunk.ids)


def _scan_time(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("a scan's time needs its offset from UTC", field="scanned_at")
    if at > now + _CLOCK_SKEW:
        raise InvalidInput("a scan's time lies in the future", field="scanned_at")
    return at


def _identified(
    session: Session,
    keyring: Keyring,
    caller: Organization,
    raws: Iterable[str],
    *,
    kind: str | None = None,
) -> list[Scanned]:
    found: dict[str, Scanned] = {}
    for raw in raws:
        scanned = identify(session, keyring, caller, raw)
        if kind is not None and scanned.kind != kind:
            wanted = "an item" if kind == "item" else "a case or pallet (SSCC)"
            raise InvalidInput(f"{raw.strip()[:80]} is not {wanted}", field="scans")
        found.setdefault(scanned.epc, scanned)  # a label scanned twice is one
    if not found:
        raise InvalidInput("scan at least one label", field="scans")
    if len(found) > MAX_SCANS:
        raise InvalidInput(f"at most {MAX_SCANS} labels in one submission", field="scans")
    return list(found.values())


def _claim(
    session: Session, caller: Organization, submission_id: str, now: datetime
) -> ScanSubmission | str:
    """Record the submission id first; returns the record, or the first result's JSON
    when the id was used before (also by a concurrent request that committed first)."""
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{8,64}", submission_id):
        raise InvalidInput(
            "a submission id is 8 to 64 letters, digits, '-', '_', '.' or ':'",
            field="submission_id",
        )
    key = (caller.id, submission_id)
    existing = session.get(ScanSubmission, key)
    if existing is not None:
        return existing.result
    record = ScanSubmission(
        organization_id=caller.id, submission_id=submission_id, result="{}", created_at=now
    )
    try:
        # On PostgreSQL a concurrent twin waits here for the first to commit, then fails.
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        existing = session.get(ScanSubmission, key, populate_existing=True)
        if existing is None:  # pragma: no cover - the twin rolled back: the client retries
            raise InvalidInput(
                "the submission is in progress; send it again", field="submission_id"
            ) from None
        return existing.result
    return record


def _object_event(sub: Submission, at: datetime, epcs: list[str], location: str) -> dict[str, Any]:
    step, disposition = _CBV[sub.action]
    here = _place(location)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _iso(at),
        "eventTimeZoneOffset": sub.time_zone,
        "epcList": epcs,
        "action": "OBSERVE",
        "bizStep": step,
        "disposition": disposition,
        "readPoint": {"id": here},
    }
    if sub.action is Action.RECEIVE:
        # Received: the goods are now here (custody, docs/logistics.md, follows bizLocation).
        event["bizLocation"] = {"id": here}
        if sub.source:
            event["sourceList"] = [
                {"type": "location", "source": _place(_gln(sub.source, "source"))}
            ]
        event["destinationList"] = [{"type": "location", "destination": here}]
        return event
    event["sourceList"] = [{"type": "location", "source": here}]
    if sub.destination:
        destination = _gln(sub.destination, "destination")
        event["destinationList"] = [{"type": "location", "destination": _place(destination)}]
    elif sub.action is Action.SHIP:
        raise InvalidInput("shipping needs a destination (its GLN)", field="destination")
    return event


def _aggregation(
    parent: str, children: list[str], at: datetime, zone: str, location: str | None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "AggregationEvent",
        "eventTime": _iso(at),
        "eventTimeZoneOffset": zone,
        "parentID": parent,
        "childEPCs": children,
        "action": "ADD",
        "bizStep": "packing",
        "disposition": "in_progress",
    }
    if location is not None:
        event["readPoint"] = {"id": _place(location)}
        event["bizLocation"] = {"id": _place(location)}
    return event


def submit(
    session: Session, keyring: Keyring, caller: Organization, sub: Submission, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Capture one submission of the scanning page; returns its result and whether it is a
    replay (then nothing was captured and the result is the first arrival's)."""
    require_capturer(caller)
    claimed = _claim(session, caller, sub.submission_id, now)
    if isinstance(claimed, str):
        return json.loads(claimed), True
    location = _own_location(session, caller, sub.location)
    at = _scan_time(sub.scanned_at, now)
    parent: Scanned | None = None
    if sub.action in (Action.PACK_CASE, Action.PACK_PALLET):
        if not sub.parent:
            raise InvalidInput("packing needs the case's or pallet's label", field="parent")
        parent = _identified(session, keyring, caller, [sub.parent], kind="unit")[0]
        kind = "item" if sub.action is Action.PACK_CASE else "unit"
        scans = _identified(session, keyring, caller, sub.scans, kind=kind)
        if any(s.epc == parent.epc for s in scans):
            raise InvalidInput("a case cannot be packed into itself", field="scans")
        event = _aggregation(parent.epc, [s.epc for s in scans], at, sub.time_zone, location)
    else:
        scans = _identified(session, keyring, caller, sub.scans)
        event = _object_event(sub, at, [s.epc for s in scans], location)
    capture_id, event_ids = _capture(session, caller, [event], now)
    result = {
        "submission_id": sub.submission_id,
        "action": sub.action.value,
        "location": location,
        "capture_id": capture_id,
        "event_ids": event_ids,
        "parent": None if parent is None else asdict(parent),
        "scans": [asdict(s) for s in scans],
        "recorded_at": _iso(now),
    }
    claimed.result = json.dumps(result, ensure_ascii=False)
    session.flush()
    return result, False


# --- packing lines ---------------------------------------------------------------------


def read_pairs(text: str) -> list[tuple[str, str]]:
    """``parent,child`` rows from a line scanner's file; a first row naming the columns
    is skipped.

    >>> read_pairs("parent,child\\n(00)195060001000000014,0950600013438312345\\n")
    [('(00)195060001000000014', '0950600013438312345')]
    """
    pairs: list[tuple[str, str]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and [c.lower() for c in cells] == ["parent", "child"]:
            continue
        if len(cells) != 2 or not all(cells):
            raise InvalidInput(f"line {number}: expected parent,child", field="rows")
        pairs.append((cells[0], cells[1]))
        if len(pairs) > MAX_SCANS * 20:
            raise InvalidInput(f"at most {MAX_SCANS * 20} rows in one file", field="rows")
    if not pairs:
        raise InvalidInput("the file has no parent,child rows", field="rows")
    return pairs


def pack(
    session: Session,
    keyring: Keyring,
    caller: Organization,
    pairs: Sequence[tuple[str, str]],
    *,
    now: datetime,
    location: str | None = None,
    packed_at: datetime | None = None,
    time_zone: str = "+08:00",
) -> dict[str, Any]:
    """One AggregationEvent (ADD, packing) per parent, its children in the file's order,
    all captured together or not at all."""
    require_capturer(caller)
    at = _scan_time(packed_at, now)
    site = None if location is None else _own_location(session, caller, location)
    groups: dict[str, list[str]] = {}
    parent_of: dict[str, str] = {}
    names: dict[str, str | None] = {}
    for number, (parent_raw, child_raw) in enumerate(pairs, start=1):
        try:
            parent = identify(session, keyring, caller, parent_raw, names)
            child = identify(session, keyring, caller, child_raw, names)
        except InvalidInput as exc:
            raise InvalidInput(f"row {number}: {exc.detail}", field="rows") from None
        if parent.kind != "unit":
            raise InvalidInput(f"row {number}: a parent is a case or pallet (SSCC)", field="rows")
        if parent_of.setdefault(child.epc, parent.epc) != parent.epc:
            raise InvalidInput(
                f"row {number}: {child.epc} is packed into two parents", field="rows"
            )
        children = groups.setdefault(parent.epc, [])
        if child.epc not in children:
            children.append(child.epc)
    events = [_aggregation(p, c, at, time_zone, site) for p, c in groups.items()]
    capture_id, event_ids = _capture(session, caller, events, now)
    return {
        "capture_id": capture_id,
        "events": [
            {"parent": parent, "children": len(children), "event_id": event_id}
            for (parent, children), event_id in zip(groups.items(), event_ids, strict=True)
        ],
    }
