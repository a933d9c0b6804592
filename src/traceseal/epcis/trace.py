"""A product's journey: the events that touched it or any container it was packed into.

Events declared erroneous are left out (corrections.py); their corrective events stand.
Containment comes from AggregationEvents. An ADD (or OBSERVE) with the item among the
``childEPCs`` puts it into ``parentID`` from that event's time; a DELETE naming it, or a
DELETE of the parent with no children listed (unpacking everything), takes it out. While
the item is inside a case, the case's events (shipping, receiving) are the item's events
too, and likewise for the pallet the case was on. Everything is read with one index range
scan per identifier.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select

from traceseal.db import Executor, Prepared, connection_of, py_time
from traceseal.epcis.identifiers import location_key, to_digital_link
from traceseal.epcis.models import EpcRole, ErrorDeclaration, Event, EventEpc

#: How many containers deep the journey follows (item → case → pallet → container).
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    leaf_index: int
    event_time: datetime
    body: dict[str, Any]
    #: The container through which the event reached the item; None for its own events.
    via: str | None = None

    @property
    def biz_step(self) -> str | None:
        from traceseal.epcis.vocab import normalise

        value = self.body.get("bizStep")
        return None if value is None else normalise("bizStep", value)

    @property
    def disposition(self) -> str | None:
        from traceseal.epcis.vocab import normalise

        value = self.body.get("disposition")
        return None if value is None else normalise("disposition", value)


@dataclass(slots=True)
class Trace:
    epc: str
    events: list[TimelineEvent] = field(default_factory=list)
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    biz_location: str | None = None
    disposition: str | None = None


@dataclass(slots=True)
class _Stay:
    """The item was inside ``container`` from ``start`` until ``end`` (None: still is)."""

    container: str
    start: tuple[datetime, int]
    end: tuple[datetime, int] | None = None


# Precompiled: the verification page asks this of every genuine code (db.Prepared).
# Events declared erroneous (and declarations that declared nothing here) are not part of
# any journey (EPCIS 2.0 §7.4.1.2): their corrective events, captured like any other, are.
# The test is one primary-key probe per event.
_HISTORY = Prepared(
    select(Event.id, Event.event_time, Event.body, EventEpc.role, Event.event_hash)
    .join(EventEpc, EventEpc.event == Event.id)
    .where(
        EventEpc.epc == bindparam("epc"),
        ~exists().where(ErrorDeclaration.event == Event.id),
    )
    .order_by(Event.event_time, Event.id)
)


def _events_of(executor: Executor, epc: str) -> list[tuple[TimelineEvent, set[int]]]:
    connection = connection_of(executor)
    rows = _HISTORY.run(connection, {"epc": epc}).fetchall()
    by_id: dict[int, tuple[TimelineEvent, set[int]]] = {}
    first_of: dict[str, int] = {}
    for leaf, at, body, role, digest in rows:
        if first_of.setdefault(digest, leaf) != leaf:
            # The same event captured by two organisations (a brand and its distributor) is
            # two records but one step of the journey: the first captured stands for both.
            continue
        if leaf not in by_id:
            by_id[leaf] = (TimelineEvent(leaf, py_time(at) or at, json.loads(body)), set())
        by_id[leaf][1].add(role)
    return list(by_id.values())


#: Events are ordered by time, then by their leaf index (capture order) among equal times.
_Key = tuple[datetime, int]


def _key(event: TimelineEvent) -> _Key:
    return (event.event_time, event.leaf_index)


def _stays(events: list[tuple[TimelineEvent, set[int]]]) -> list[_Stay]:
    stays: list[_Stay] = []
    open_stays: dict[str, _Stay] = {}
    for event, roles in events:
        body = event.body
        if body.get("type") != "AggregationEvent" or EpcRole.CHILD not in roles:
            continue
        parent = body.get("parentID")
        if not parent:
            continue
        parent = to_digital_link(parent)
        action = body.get("action")
        if action in ("ADD", "OBSERVE") and parent not in open_stays:
            # Being packed into another container ends the stay in the previous one.
            for other in list(open_stays.values()):
                other.end = _key(event)
                del open_stays[other.container]
            stay = _Stay(parent, _key(event))
            stays.append(stay)
            open_stays[parent] = stay
        elif action == "DELETE" and parent in open_stays:
            open_stays.pop(parent).end = _key(event)
    return stays


def _children(events: list[tuple[TimelineEvent, set[int]]]) -> list[str]:
    inside: dict[str, None] = {}
    for event, roles in events:
        body = event.body
        if body.get("type") != "AggregationEvent" or EpcRole.PARENT not in roles:
            continue
        children = [to_digital_link(c) for c in body.get("childEPCs") or ()]
        if body.get("action") in ("ADD", "OBSERVE"):
            inside.update(dict.fromkeys(children))
        elif body.get("action") == "DELETE":
            if not children:
                inside.clear()
            for child in children:
                inside.pop(child, None)
    return list(inside)


def _unpacked_at(
    events: list[tuple[TimelineEvent, set[int]]], after: tuple[datetime, int]
) -> tuple[datetime, int] | None:
    """When a container was emptied whole (DELETE with no children listed), if after ``after``."""
    for event, roles in events:
        body = event.body
        if (
            body.get("type") == "AggregationEvent"
            and body.get("action") == "DELETE"
            and EpcRole.PARENT in roles
            and not body.get("childEPCs")
            and _key(event) > after
        ):
            return _key(event)
    return None


def ask(session: Executor, epc: str) -> None:
    """Send the read of ``epc``'s own events ahead (db.Prepared.send): :func:`trace` of the
    same ``epc`` in the transaction takes its result."""
    _HISTORY.send(connection_of(session), {"epc": to_digital_link(epc)})


def trace(session: Executor, epc: str) -> Trace:
    """The timeline of ``epc`` (any identifier form) through its containers, oldest first."""
    epc = to_digital_link(epc)
    result = Trace(epc)
    own = _events_of(session, epc)
    seen: dict[int, TimelineEvent] = {event.leaf_index: event for event, _ in own}
    result.children = _children(own)

    # Breadth-first through the containers, each stay bounded by the enclosing one: the
    # events of a thing, and the span of time during which they are the item's too.
    frontier: list[tuple[list[tuple[TimelineEvent, set[int]]], tuple[_Key, _Key | None] | None]]
    frontier = [(own, None)]
    direct_parent: str | None = None
    for depth in range(MAX_DEPTH):
        next_frontier: list[
            tuple[list[tuple[TimelineEvent, set[int]]], tuple[_Key, _Key | None] | None]
        ] = []
        for item_events, bounds in frontier:
            for stay in _stays(item_events):
                start, end = stay.start, stay.end
                if bounds is not None:
                    start = max(start, bounds[0])
                    end = (
                        bounds[1]
                        if end is None
                        else (end if bounds[1] is None else min(end, bounds[1]))
                    )
                container_events = _events_of(session, stay.container)
                emptied = _unpacked_at(container_events, start)
                if emptied is not None and (end is None or emptied < end):
                    end = emptied
                if end is not None and end <= start:
                    continue
                if depth == 0 and end is None:
                    direct_parent = stay.container
                for event, _ in container_events:
                    key = _key(event)
                    if (
                        key >= start
                        and (end is None or key <= end)
                        and event.leaf_index not in seen
                    ):
                        seen[event.leaf_index] = TimelineEvent(
                            event.leaf_index, event.event_time, event.body, via=stay.container
                        )
                next_frontier.append((container_events, (start, end)))
        frontier = next_frontier
        if not frontier:
            break

    result.parent = direct_parent
    result.events = sorted(seen.values(), key=_key)
    for event in result.events:
        location = event.body.get("bizLocation")
        if location:
            result.biz_location = location_key(location["id"])
        if event.disposition:
            result.disposition = event.disposition
    return result


# The consumer's short journey: which steps to tell, and how.
_STEPS: dict[str, dict[str, str]] = {
    "commissioning": {"zh-CN": "生产赋码", "en": "Produced"},
    "inspecting": {"zh-CN": "质量检验", "en": "Inspected"},
    "packing": {"zh-CN": "装箱", "en": "Packed"},
    "shipping": {"zh-CN": "发货", "en": "Shipped"},
    "departing": {"zh-CN": "离港", "en": "Departed"},
    "arriving": {"zh-CN": "到达", "en": "Arrived"},
    "receiving": {"zh-CN": "收货", "en": "Received"},
    "accepting": {"zh-CN": "验收", "en": "Accepted"},
    "storing": {"zh-CN": "入库", "en": "Stored"},
    "retail_selling": {"zh-CN": "零售", "en": "Sold"},
}
_TO = {"zh-CN": "至", "en": "to"}
_AT = {"zh-CN": "于", "en": "at"}


_GLN_LINK = "https://id.gs1.org/414/"


def place_name(identifier: str | None, names: Mapping[str, str] | None = None) -> str | None:
    """A location as a person reads it.

    With ``names`` (GLN -> the name registered for it), the name, or None for a place with
    no name here: a consumer reads "received at 华南安盾经销", never a 13-digit number.
    Without, the GLN (and extension) of an SGLN, else the URI, for experts.
    """
    if not identifier:
        return None
    link = location_key(identifier)
    gln, _, extension = link.removeprefix(_GLN_LINK).partition("/254/")
    if names is not None:
        return names.get(gln) if link.startswith(_GLN_LINK) else None
    if link.startswith(_GLN_LINK):
        return f"GLN {gln}" + (f"-{extension}" if extension and extension != "0" else "")
    return identifier


def glns(result: Trace) -> set[str]:
    """The GLNs of the places the journey names (for looking their names up)."""
    found = set()
    for event in result.events:
        location = event.body.get("bizLocation") or event.body.get("readPoint")
        for identifier in (_destination(event.body), location.get("id") if location else None):
            link = location_key(identifier) if identifier else ""
            if link.startswith(_GLN_LINK):
                found.add(link.removeprefix(_GLN_LINK).partition("/254/")[0])
    return found


def _destination(body: dict[str, Any]) -> str | None:
    for kind in ("location", "owning_party", "possessing_party"):
        for entry in body.get("destinationList") or ():
            if entry.get("type", "").rsplit("-", 1)[-1].rsplit(":", 1)[-1] == kind:
                return str(entry.get("destination"))
    return None


def journey(
    result: Trace,
    language: str,
    *,
    names: Mapping[str, str] | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Steps a consumer understands, oldest first: produced, packed, shipped to X, received at Y.

    ``names``: GLN -> registered name; places without one are left out (see place_name)."""
    language = language if language in _TO else "en"
    steps: list[dict[str, Any]] = []
    for event in result.events:
        step = event.biz_step
        if step not in _STEPS:
            continue
        label = _STEPS[step][language]
        if step in ("shipping", "departing"):
            place = place_name(_destination(event.body), names)
            joiner = _TO[language]
        else:
            location = event.body.get("bizLocation") or event.body.get("readPoint")
            place = place_name(location.get("id") if location else None, names)
            joiner = _AT[language]
        text = label if place is None else f"{label} {joiner} {place}"
        if steps and steps[-1]["step"] == step and steps[-1]["place"] == place:
            continue  # the item and its case were shipped by one event each: tell it once
        steps.append(
            {"time": event.event_time, "step": step, "label": label, "place": place, "text": text}
        )
    return steps[-limit:]
