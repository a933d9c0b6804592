"""The records verification passes between its steps (verify.service), all typed and frozen.

``Query`` is what a channel received, ``Verification`` what every channel words; between them
``Context`` holds what the code's segment says about it and ``Tally`` the code's count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from traceseal.db import py_date
from traceseal.epcis.trace import Trace
from traceseal.quality.facts import ProgrammeFact, QualityFacts, programme_fact
from traceseal.verify.models import Channel, Verdict

__all__ = [
    "BatchFacts",
    "Context",
    "ProductFacts",
    "Query",
    "RecallFacts",
    "Tally",
    "Verification",
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
    #: The channel of the code's first query (a Channel value; None before migration 0014).
    first_channel: str | None = None
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


@dataclass(frozen=True, slots=True)
class Tally:
    """The code's consumer queries: how many, and when and where the first was."""

    count: int
    first_at: datetime | None
    first_region: str | None
    first_channel: str | None = None


#: A code never queried (or a query that may not see the history).
UNTOLD = Tally(0, None, None)


@dataclass(frozen=True, slots=True)
class Context:
    """What the code's segment says about it: one row of ``statements.CONTEXT``."""

    #: The code as 20 digits, its key slot and sequence number.
    code: str
    slot: int
    sequence: int
    #: A CodeState value (compared as text: no enum lookup on the hot path).
    state: str
    batch_id: int | None
    owner: int
    organization: str
    product_id: int | None
    product: ProductFacts | None
    gtin: str | None
    category: str
    #: Consumer queries past this many make the answer suspicious (None: no product yet).
    scan_limit: int | None
    batch: BatchFacts | None
    lot: str | None
    recall_id: int | None
    programme: ProgrammeFact | None
    #: Under an open critical clone or diversion alert, read before this query is judged.
    alerted: bool

    @classmethod
    def from_row(cls, code: str, slot: int, sequence: int, row: Any) -> Context:
        (state, _stop, batch_id, owner, organization, product_id, gtin, name, brand) = row[:9]
        (category, specification, image_url, scan_limit, lot, produced, expires) = row[9:16]
        recall_id, *programme, alert_id = row[16:]
        return cls(
            code=code,
            slot=slot,
            sequence=sequence,
            state=state,
            batch_id=batch_id,
            owner=owner,
            organization=organization,
            product_id=product_id,
            product=(
                None
                if product_id is None
                else ProductFacts(gtin, name, brand, category, specification, image_url)
            ),
            gtin=gtin,
            category=category or "",
            scan_limit=scan_limit,
            batch=None if lot is None else BatchFacts(lot, py_date(produced), py_date(expires)),
            lot=lot,
            recall_id=recall_id,
            programme=programme_fact(programme),
            alerted=alert_id is not None,
        )

    def facts(self) -> dict[str, Any]:
        """The fields of a Verification that describe the code, whatever the verdict."""
        return {
            "product": self.product,
            "batch": self.batch,
            "organization": self.organization,
            "organization_id": self.owner,
            "product_id": self.product_id,
        }
