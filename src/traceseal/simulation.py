"""A realistic month for one enterprise: production, shipping, consumer scans, planted
diversions and clones. ``traceseal simulate`` runs it; ``traceseal init --demo`` too.

Everything goes through the real services: codes are issued and activated, EPCIS documents
are captured (items packed into cases, cases onto pallets, pallets shipped to and received
by distributors), one distributor gets its codes by a range assignment instead, and every
scan is a verification with risk evaluation, at its simulated time. Deterministic for a
seed. The planted codes are returned, so a test can hold detection to them exactly.

What is normal: a code is scanned by at most two devices of one household, in its
distributor's territory, days apart. What is planted:

- diverted: sold in a province outside the territory; found by one retailer's
  authenticated scan there, or by two consumers there, days apart;
- cloned: after the genuine item's first scan, copies are scanned either far away within
  hours (impossible travel) or by five more devices in the same city (many devices).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traceseal.alerts.models import Alert
from traceseal.codes import service as codes
from traceseal.codes.service import Keyring
from traceseal.config import Settings
from traceseal.db import unit_of_work
from traceseal.epcis.capture import Capture, plan, prepare_events
from traceseal.epcis.vocab import CONTEXT_URL
from traceseal.epcis.writer import store
from traceseal.geo.regions import distance_km, table
from traceseal.logistics import service as logistics
from traceseal.logistics.models import Distributor
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import create_organization
from traceseal.registry import service as registry
from traceseal.registry.models import Product
from traceseal.registry.schemas import BatchCreate, ProductCreate
from traceseal.risk.service import RiskEngine
from traceseal.verify.models import Channel
from traceseal.verify.service import Query, verify

__all__ = ["Simulation", "simulate"]

GTIN = "09506000134383"
COMPANY = "9506000"
CASE_SIZE = 20
CASES_PER_PALLET = 5


@dataclass(frozen=True, slots=True)
class _Distributor:
    name: str
    #: EPCIS location reference (the GLN's digits after the company prefix), or None for a
    #: distributor that gets its codes by a range assignment, without events.
    location: str | None
    territory: tuple[str, ...]
    #: Districts where its customers scan.
    cities: tuple[str, ...]


DISTRIBUTORS = (
    _Distributor("华南安盾经销有限公司", "00010", ("440000",), ("440106", "440305", "440604")),
    _Distributor(
        "华东安盾经销有限公司", "00011", ("310000", "320500"), ("310101", "310115", "320505")
    ),
    _Distributor(
        "华北安盾经销有限公司", "00012", ("110000", "120000"), ("110105", "110108", "120101")
    ),
    _Distributor("西南安盾经销有限公司", None, ("510000", "500000"), ("510104", "500103")),
)
#: Districts far from every territory above, where diverted goods and copies turn up.
ELSEWHERE = ("430102", "420102", "370102", "610113", "530102", "350102", "650102", "230102")
FACTORY = "00001"


@dataclass
class Simulation:
    enterprise_id: int
    enterprise_key: str | None
    codes: int = 0
    events: int = 0
    scans: int = 0
    distributors: dict[str, int] = field(default_factory=dict)
    #: Planted codes, each with how it was planted.
    diverted: dict[str, str] = field(default_factory=dict)
    cloned: dict[str, str] = field(default_factory=dict)
    #: What detection found: alert kind -> codes.
    alerts: dict[str, list[str]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        found_diverted = set(self.alerts.get("diversion", []))
        found_cloned = set(self.alerts.get("clone", []))
        planted = set(self.diverted) | set(self.cloned)
        flagged = {code for codes_ in self.alerts.values() for code in codes_}
        return {
            "enterprise_id": self.enterprise_id,
            "codes": self.codes,
            "events": self.events,
            "scans": self.scans,
            "distributors": self.distributors,
            "planted_diverted": len(self.diverted),
            "planted_cloned": len(self.cloned),
            "diverted_found": len(found_diverted & set(self.diverted)),
            "cloned_found": len(found_cloned & set(self.cloned)),
            "false_alerts": len(flagged - planted),
            "alerts": {kind: len(found) for kind, found in self.alerts.items()},
        }


def _sgln(location: str) -> str:
    return f"urn:epc:id:sgln:{COMPANY}.{location}.0"


def _sscc(kind: int, number: int) -> str:
    return f"urn:epc:id:sscc:{COMPANY}.{kind}{number:09d}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": _iso(at), "eventTimeZoneOffset": "+08:00", **fields}


class _Scanner:
    """Verifies at simulated times, each scan in its own transaction, as the edge would."""

    def __init__(
        self, factory: sessionmaker[Session], keyring: Keyring, settings: Settings, seed: int
    ) -> None:
        self.engine = factory.kw["bind"]
        self.keyring = keyring
        self.risk = RiskEngine(settings)
        self.regions = table()
        self.rng = random.Random(seed * 7919 + 1)
        self.count = 0
        #: The organisation whose key trade scans carry.
        self.trader: int | None = None

    def device(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def scan(
        self, code: str, region: str, at: datetime, device: str, *, trade: bool = False
    ) -> None:
        # A third of consumers share their location; the others' apps send the region.
        by_coordinates = not trade and self.rng.random() < 0.33
        point = self.regions.centroid(region) if by_coordinates else None
        query = Query(
            code=code,
            channel=Channel.API if trade else Channel.QR,
            region=None if point else region,
            latitude=None if point is None else point[0],
            longitude=None if point is None else point[1],
            device_hash=device,
            trade=trade,
            trade_org_id=self.trader if trade else None,
        )
        with self.engine.begin() as connection:
            verify(connection, self.keyring, query, now=at, risk=self.risk)
        self.count += 1


def _setup(
    session: Session,
    keyring: Keyring,
    settings: Settings,
    enterprise_name: str,
    count: int,
    seed: int,
    start: datetime,
) -> tuple[Organization, str | None, list[list[str]], list[int], dict[str, int]]:
    """The enterprise, its product, four weekly lots of codes, and its distributors."""
    org = session.scalar(select(Organization).where(Organization.name == enterprise_name))
    key = None
    if org is None:
        org, key = create_organization(session, enterprise_name, Role.ENTERPRISE)
    product = session.scalar(select(Product).where(Product.gtin == GTIN))
    if product is None:
        product = registry.add_product(
            session,
            org,
            ProductCreate(
                gtin=GTIN,
                name="ABC干粉灭火器 8kg",
                brand="安盾",
                category="消防产品",
                specification="MFZ/ABC8",
            ),
        )
    run = codes.issue_run(session, keyring, settings, org, count, product=product)
    cipher = codes.run_cipher(session, keyring, run)
    lots: list[list[str]] = []
    week = -(-count // 4)
    for index in range(4):
        first = run.first + index * week
        stop = min(run.first + count, first + week)
        if first >= stop:
            break
        produced = (start + timedelta(days=7 * index)).date()
        batch = registry.add_batch(
            session,
            product,
            BatchCreate(
                lot=f"S{seed}-W{index + 1}",
                production_date=produced,
                expiry_date=date(produced.year + 5, produced.month, produced.day),
                quantity=stop - first,
            ),
        )
        codes.activate(session, run, first, stop, batch)
        lots.append([cipher.code(n) for n in range(first, stop)])
    distributor_ids: dict[str, int] = {}
    for spec in DISTRIBUTORS:
        glns = [] if spec.location is None else [logistics.gln_of(_sgln(spec.location)) or ""]
        distributor, _ = logistics.register_distributor(
            session, org, spec.name, glns=glns, territory=spec.territory
        )
        distributor_ids[spec.name] = distributor.id
    return org, key, lots, [run.id, run.first, run.slot], distributor_ids


def simulate(
    factory: sessionmaker[Session],
    keyring: Keyring,
    settings: Settings,
    *,
    enterprise: str = "安盾消防科技有限公司",
    codes_count: int = 2000,
    diverted: int = 10,
    cloned: int = 10,
    seed: int = 7,
    start: date = date(2026, 10, 1),
    progress: Callable[[str, int, int], None] | None = None,
) -> Simulation:
    """Run the month; ``progress(stage, done, total)`` is called as it goes."""
    if codes_count < 8 * CASE_SIZE or diverted + cloned > codes_count // 4:
        raise ValueError("simulate at least 160 codes, planting at most a quarter of them")
    rng = random.Random(seed)
    t0 = datetime(start.year, start.month, start.day, 1, tzinfo=UTC)
    with unit_of_work(factory) as session:
        org, key, lots, (run_id, _, _), distributor_ids = _setup(
            session, keyring, settings, enterprise, codes_count, seed, t0
        )
        enterprise_id = org.id
    result = Simulation(enterprise_id, key, codes=codes_count, distributors=distributor_ids)
    everything = [code for lot in lots for code in lot]

    # Pallets go round the distributors; the last distributor has no GLN events, so its
    # pallets' codes are assigned to it by range instead.
    per_pallet = CASE_SIZE * CASES_PER_PALLET
    pallets = [everything[i : i + per_pallet] for i in range(0, len(everything), per_pallet)]
    owner_of: dict[str, _Distributor] = {}
    received_at: dict[str, datetime] = {}
    documents: list[list[dict[str, Any]]] = []
    ranges: list[tuple[int, int]] = []
    case_number = 0
    for number, items in enumerate(pallets):
        spec = DISTRIBUTORS[number % len(DISTRIBUTORS)]
        position = number * per_pallet
        made = t0 + timedelta(days=7 * (position // len(lots[0])))
        made += timedelta(hours=rng.randrange(0, 48))
        links = [f"https://id.gs1.org/01/{GTIN}/21/{code}" for code in items]
        pallet = _sscc(2, number)
        events: list[dict[str, Any]] = [
            _event(
                "ObjectEvent",
                made,
                action="ADD",
                epcList=links,
                bizStep="commissioning",
                disposition="active",
                bizLocation={"id": _sgln(FACTORY)},
            )
        ]
        cases = []
        for offset in range(0, len(links), CASE_SIZE):
            case_number += 1
            case = _sscc(1, case_number)
            cases.append(case)
            events.append(
                _event(
                    "AggregationEvent",
                    made + timedelta(hours=1),
                    action="ADD",
                    parentID=case,
                    childEPCs=links[offset : offset + CASE_SIZE],
                    bizStep="packing",
                    bizLocation={"id": _sgln(FACTORY)},
                )
            )
        events.append(
            _event(
                "AggregationEvent",
                made + timedelta(hours=2),
                action="ADD",
                parentID=pallet,
                childEPCs=cases,
                bizStep="packing",
                bizLocation={"id": _sgln(FACTORY)},
            )
        )
        shipped = made + timedelta(days=1)
        arrived = shipped + timedelta(days=2)
        if spec.location is not None:
            events.append(
                _event(
                    "ObjectEvent",
                    shipped,
                    action="OBSERVE",
                    epcList=[pallet],
                    bizStep="shipping",
                    disposition="in_transit",
                    destinationList=[{"type": "location", "destination": _sgln(spec.location)}],
                )
            )
            events.append(
                _event(
                    "ObjectEvent",
                    arrived,
                    action="OBSERVE",
                    epcList=[pallet],
                    bizStep="receiving",
                    disposition="in_progress",
                    bizLocation={"id": _sgln(spec.location)},
                )
            )
        else:
            ranges.append((position, position + len(items)))
        documents.append(events)
        for code in items:
            owner_of[code] = spec
            received_at[code] = arrived
    _capture_all(factory, enterprise_id, documents, result, progress)
    _assign_ranges(factory, keyring, run_id, distributor_ids[DISTRIBUTORS[-1].name], ranges)

    # The plants, drawn from the whole month's codes.
    chosen = rng.sample(everything, diverted + cloned)
    for index, code in enumerate(chosen[:diverted]):
        result.diverted[code] = "trade" if index % 2 == 0 else "consumers"
    for index, code in enumerate(chosen[diverted:]):
        result.cloned[code] = "travel" if index % 2 == 0 else "devices"

    scanner = _Scanner(factory, keyring, settings, seed)
    # Trade scans come from a shop of one of the brand's own distributors (only those count
    # as trade evidence), here the first one's, wherever the diverted goods turn up.
    with factory() as session:
        scanner.trader = session.scalar(
            select(Distributor.organization_id).where(
                Distributor.id == distributor_ids[DISTRIBUTORS[0].name]
            )
        )
    end = t0 + timedelta(days=30)
    plans: list[tuple[datetime, Callable[[], None]]] = []
    for code in everything:
        spec = owner_of[code]
        first_at = received_at[code] + timedelta(hours=rng.randrange(24, 24 * 12))
        if first_at >= end:
            first_at = end - timedelta(hours=rng.randrange(1, 48))
        if code in result.diverted:
            plans.extend(_diverted(code, result.diverted[code], first_at, scanner, rng))
        elif code in result.cloned:
            plans.extend(_cloned(code, result.cloned[code], spec, first_at, scanner, rng))
        elif rng.random() < 0.7:  # most buyers check; some twice, a few on a second phone
            plans.extend(_normal(code, spec, first_at, scanner, rng))
    plans.sort(key=lambda item: item[0])
    for done, (_, action) in enumerate(plans, start=1):
        action()
        if progress is not None and (done % 50 == 0 or done == len(plans)):
            progress("scans", done, len(plans))
    result.scans = scanner.count

    with unit_of_work(factory) as session:
        for kind, alert_code in session.execute(
            select(Alert.kind, Alert.code)
            .where(Alert.organization_id == enterprise_id, Alert.code.is_not(None))
            .order_by(Alert.id)
        ):
            if alert_code is not None:  # the query asks for coded alerts only
                result.alerts.setdefault(kind, []).append(alert_code)
    return result


def _capture_all(
    factory: sessionmaker[Session],
    enterprise_id: int,
    documents: list[list[dict[str, Any]]],
    result: Simulation,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    dialect = factory.kw["bind"].dialect.name
    for done, events in enumerate(documents, start=1):
        document = {
            "@context": [CONTEXT_URL],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": events[0]["eventTime"],
            "epcisBody": {"eventList": events},
        }
        ready, raw = plan(document, source_format="json", max_events=10_000, dialect=dialect)
        prepared = prepare_events(ready, raw, 0)
        with unit_of_work(factory) as session:
            org = session.get(Organization, enterprise_id)
            assert org is not None
            store(session, org, Capture(ready, prepared))
        result.events += len(events)
        if progress is not None:
            progress("events", done, len(documents))


def _assign_ranges(
    factory: sessionmaker[Session],
    keyring: Keyring,
    run_id: int,
    distributor_id: int,
    ranges: list[tuple[int, int]],
) -> None:
    from traceseal.codes.models import CodeRun
    from traceseal.logistics.models import Distributor

    with unit_of_work(factory) as session:
        run = session.get(CodeRun, run_id)
        distributor = session.get(Distributor, distributor_id)
        assert run is not None
        assert distributor is not None
        for first, stop in ranges:
            logistics.assign_range(session, distributor, run, run.first + first, run.first + stop)
    del keyring


def _normal(
    code: str, spec: _Distributor, at: datetime, scanner: _Scanner, rng: random.Random
) -> list[tuple[datetime, Callable[[], None]]]:
    home = rng.choice(spec.cities)
    device = scanner.device()
    plans = [(at, lambda: scanner.scan(code, home, at, device))]
    if rng.random() < 0.3:
        again = at + timedelta(days=rng.randrange(1, 10))
        other = device if rng.random() < 0.6 else scanner.device()
        place = rng.choice(spec.cities)
        plans.append((again, lambda: scanner.scan(code, place, again, other)))
    return plans


def _diverted(
    code: str, how: str, at: datetime, scanner: _Scanner, rng: random.Random
) -> list[tuple[datetime, Callable[[], None]]]:
    place = rng.choice(ELSEWHERE)
    if how == "trade":
        shop = scanner.device()
        return [(at, lambda: scanner.scan(code, place, at, shop, trade=True))]
    later = at + timedelta(days=rng.randrange(2, 6))
    first, second = scanner.device(), scanner.device()
    return [
        (at, lambda: scanner.scan(code, place, at, first)),
        (later, lambda: scanner.scan(code, place, later, second)),
    ]


def _cloned(
    code: str,
    how: str,
    spec: _Distributor,
    at: datetime,
    scanner: _Scanner,
    rng: random.Random,
) -> list[tuple[datetime, Callable[[], None]]]:
    home = rng.choice(spec.cities)
    genuine = scanner.device()
    plans = [(at, lambda: scanner.scan(code, home, at, genuine))]
    if how == "travel":
        # The copy turns up in the district farthest from the genuine one, within 1.5 h.
        regions = scanner.regions
        here = regions.centroid(home) or (0.0, 0.0)
        far = max(ELSEWHERE, key=lambda r: distance_km(*here, *(regions.centroid(r) or here)))
        soon = at + timedelta(minutes=rng.randrange(20, 90))
        fake = scanner.device()
        plans.append((soon, lambda: scanner.scan(code, far, soon, fake)))
        return plans
    for day in range(1, 6):
        when = at + timedelta(days=day, hours=rng.randrange(0, 12))
        fake = scanner.device()
        plans.append(
            # Defaults bind this day's values; mypy cannot infer a lambda's default types.
            (when, lambda when=when, fake=fake: scanner.scan(code, home, when, fake))  # type: ignore[misc]
        )
    return plans
