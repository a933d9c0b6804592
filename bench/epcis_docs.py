"""Seeded EPCIS capture documents for the capture benchmark.

One supply-chain story in three encodings, so that every system under test captures the same
events: a packing line commissions a case's items and then packs them into the case.

  * ObjectEvent, action ADD, bizStep commissioning, disposition active: ten SGTINs and the
    SSCC of the case they go into;
  * AggregationEvent, action ADD, bizStep packing, disposition in_progress: parentID that SSCC,
    childEPCs those ten SGTINs.

The SSCC is commissioned with its items because a capture service that applies EPCIS business
rules (QU4RTET's default parser does) refuses to pack into a parent it has never seen. Events
alternate ObjectEvent, AggregationEvent, ...; an odd count ends on an ObjectEvent.

Identifiers use GS1's example company prefix 0614141 in EPC URN form. SGTIN serials and SSCC
serial references start with the zero-padded seed, so documents of different seeds never share
an EPC and can be captured one after another into the same store. EPC URNs carry no check
digit (the Tag Data Standard drops it), so every SSCC URN written here is well formed.

The same (n_events, seed) gives byte-identical output, and the same events in every format.

Usage: python bench/epcis_docs.py --events N --format {jsonld,xml,xml12} [--seed S] [-o FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FORMATS = ("jsonld", "xml", "xml12")
MAX_SEED = 9_999  # four digits of every serial
MAX_EVENTS = 2_000_000  # a million cases: six digits of the SSCC serial reference
ITEMS_PER_CASE = 10

COMPANY_PREFIX = "0614141"
# Indicator digit + item reference: six digits, so that prefix + item reference is 13.
ITEM_REFS = ("812345", "812346", "812347", "112233")
# (bizLocation, eventTimeZoneOffset, readPoint location extensions: one per packing line)
SITES = (
    ("00001", "+01:00", ("1", "2", "3")),
    ("00002", "-05:00", ("1", "2")),
    ("00003", "+08:00", ("1", "2", "3", "4")),
)
START = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)

CONTEXT_2_0 = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NS_2_0 = "urn:epcglobal:epcis:xsd:2"
NS_1_2 = "urn:epcglobal:epcis:xsd:1"
CBV = "urn:epcglobal:cbv:"


@dataclass(frozen=True, slots=True)
class Event:
    """One event, independent of encoding. `parent` is set on AggregationEvents only."""

    type: str
    time: str
    offset: str
    event_id: str
    epcs: tuple[str, ...]
    parent: str | None
    biz_step: str
    disposition: str
    read_point: str
    biz_location: str


def events(n_events: int, seed: int = 1) -> Iterator[Event]:
    """The events of a document, in document order.

    >>> [e.type for e in events(3)]
    ['ObjectEvent', 'AggregationEvent', 'ObjectEvent']
    """
    if not 0 <= n_events <= MAX_EVENTS:
        raise ValueError(f"n_events must be within 0..{MAX_EVENTS}, got {n_events}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be within 0..{MAX_SEED}, got {seed}")
    return _events(n_events, seed)


def _events(n_events: int, seed: int) -> Iterator[Event]:
    rng = random.Random(seed)
    clock = START
    emitted = 0
    for case in range((n_events + 1) // 2):
        site, offset, lines = rng.choice(SITES)
        location = f"urn:epc:id:sgln:{COMPANY_PREFIX}.{site}.0"
        read_point = f"urn:epc:id:sgln:{COMPANY_PREFIX}.{site}.{rng.choice(lines)}"
        item_ref = rng.choice(ITEM_REFS)
        first = case * ITEMS_PER_CASE
        items = tuple(
            f"urn:epc:id:sgtin:{COMPANY_PREFIX}.{item_ref}.{seed:04d}{serial:08d}"
            for serial in range(first, first + ITEMS_PER_CASE)
        )
        sscc = f"urn:epc:id:sscc:{COMPANY_PREFIX}.{seed:04d}{case:06d}"

        clock += timedelta(milliseconds=rng.randint(800, 4000))
        yield Event(
            "ObjectEvent",
            _timestamp(clock),
            offset,
            _event_id(rng),
            (*items, sscc),
            None,
            "commissioning",
            "active",
            read_point,
            location,
        )
        emitted += 1
        if emitted == n_events:
            return

        clock += timedelta(milliseconds=rng.randint(200, 1500))
        yield Event(
            "AggregationEvent",
            _timestamp(clock),
            offset,
            _event_id(rng),
            items,
            sscc,
            "packing",
            "in_progress",
            read_point,
            location,
        )
        emitted += 1


def generate(n_events: int, *, fmt: str, seed: int = 1) -> bytes:
    """A whole capture document of `n_events` events, UTF-8.

    fmt is "jsonld" (EPCIS 2.0 JSON-LD), "xml" (EPCIS 2.0 XML) or "xml12" (EPCIS 1.2 XML).
    The caller gets a document valid against the GS1 schema of its format.

    >>> generate(2, fmt="jsonld")[:30]
    b'{"@context":["https://ref.gs1.'
    """
    if fmt == "jsonld":
        return _jsonld(n_events, seed)
    if fmt == "xml":
        return _xml(n_events, seed, version="2.0")
    if fmt == "xml12":
        return _xml(n_events, seed, version="1.2")
    raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _event_id(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).urn


def _creation_date(n_events: int) -> str:
    # After the last event, and a function of the arguments only, so output stays reproducible.
    return _timestamp(START + timedelta(seconds=5 * n_events + 60))


def _jsonld(n_events: int, seed: int) -> bytes:
    event_list = []
    for event in events(n_events, seed):
        # The JSON-LD binding writes CBV values as bare terms the @context expands.
        body: dict[str, object] = {
            "type": event.type,
            "eventTime": event.time,
            "eventTimeZoneOffset": event.offset,
            "eventID": event.event_id,
        }
        if event.parent is None:
            body["epcList"] = list(event.epcs)
        else:
            body["parentID"] = event.parent
            body["childEPCs"] = list(event.epcs)
        body |= {
            "action": "ADD",
            "bizStep": event.biz_step,
            "disposition": event.disposition,
            "readPoint": {"id": event.read_point},
            "bizLocation": {"id": event.biz_location},
        }
        event_list.append(body)
    document = {
        "@context": [CONTEXT_2_0],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _creation_date(n_events),
        "epcisBody": {"eventList": event_list},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _xml(n_events: int, seed: int, *, version: str) -> bytes:
    # Every value comes from the constants and number formats above, none needs escaping;
    # string templates keep a million-event document to seconds (an lxml tree takes far longer).
    namespace = NS_2_0 if version == "2.0" else NS_1_2
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<epcis:EPCISDocument xmlns:epcis="{namespace}" schemaVersion="{version}" '
        f'creationDate="{_creation_date(n_events)}">\n<EPCISBody>\n<EventList>\n'
    ]
    for event in events(n_events, seed):
        # 2.0 moved eventID out of 1.2's baseExtension to follow eventTimeZoneOffset.
        if version == "2.0":
            event_id = f"<eventID>{event.event_id}</eventID>"
        else:
            event_id = f"<baseExtension><eventID>{event.event_id}</eventID></baseExtension>"
        epcs = "".join(f"<epc>{epc}</epc>" for epc in event.epcs)
        if event.parent is None:
            what = f"<epcList>{epcs}</epcList>"
        else:
            what = f"<parentID>{event.parent}</parentID><childEPCs>{epcs}</childEPCs>"
        parts.append(
            f"<{event.type}>"
            f"<eventTime>{event.time}</eventTime>"
            f"<eventTimeZoneOffset>{event.offset}</eventTimeZoneOffset>"
            f"{event_id}{what}<action>ADD</action>"
            f"<bizStep>{CBV}bizstep:{event.biz_step}</bizStep>"
            f"<disposition>{CBV}disp:{event.disposition}</disposition>"
            f"<readPoint><id>{event.read_point}</id></readPoint>"
            f"<bizLocation><id>{event.biz_location}</id></bizLocation>"
            f"</{event.type}>\n"
        )
    parts.append("</EventList>\n</EPCISBody>\n</epcis:EPCISDocument>\n")
    return "".join(parts).encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events in the document")
    parser.add_argument("--format", choices=FORMATS, default="jsonld", help="encoding")
    parser.add_argument("--seed", type=int, default=1, help=f"0..{MAX_SEED}; picks the EPCs")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        document = generate(args.events, fmt=args.format, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    if args.output is None:
        sys.stdout.buffer.write(document)
    else:
        args.output.write_bytes(document)


if __name__ == "__main__":
    main()
