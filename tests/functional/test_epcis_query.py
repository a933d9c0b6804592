"""EPCIS queries through HTTP: every supported parameter, paging, the resource listings."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote

import pytest

from tests.conftest import Platform, Tenant
from tests.functional.test_epcis_capture import URN, capture, document, object_event, query

SSCC = "urn:epc:id:sscc:9506000.0000000001"
PALLET = "urn:epc:id:sscc:9506000.0000000002"
WAREHOUSE = "urn:epc:id:sgln:9506000.00002.0"
SHOP = "urn:epc:id:sgln:9506000.00003.0"


def aggregation(parent: str, children: list[str], when: str, action: str = "ADD") -> dict:
    return {
        "type": "AggregationEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+08:00",
        "parentID": parent,
        "childEPCs": children,
        "action": action,
        "bizStep": "packing" if action == "ADD" else "unpacking",
        "disposition": "in_progress",
    }


@pytest.fixture
def stored(platform: Platform, acme: Tenant) -> Tenant:
    """Five events: commissioning, packing, shipping (with a PO), receiving, a transformation."""
    events = [
        object_event(["1", "2"], "2026-11-01T08:00:00+08:00"),
        aggregation(SSCC, [URN.format("1"), URN.format("2")], "2026-11-01T09:00:00+08:00"),
        {
            **object_event([], "2026-11-02T08:00:00+08:00"),
            "epcList": [SSCC],
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "bizLocation": {"id": WAREHOUSE},
            "bizTransactionList": [
                {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:9506000000005:PO-1"}
            ],
        },
        {
            **object_event([], "2026-11-03T08:00:00+08:00"),
            "epcList": ["https://shop.example.com/00/095060000000000015"],
            "action": "OBSERVE",
            "bizStep": "https://ref.gs1.org/cbv/BizStep-receiving",
            "disposition": "https://ref.gs1.org/cbv/Disp-in_progress",
            "bizLocation": {"id": SHOP},
        },
        {
            "type": "TransformationEvent",
            "eventTime": "2026-11-04T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "inputEPCList": [URN.format("1")],
            "outputEPCList": [URN.format("3")],
            "bizStep": "repairing",
        },
    ]
    response = capture(platform, acme, document(*events))
    assert response.status_code == 202, response.text
    return acme


def steps(events: list[dict]) -> list[str]:
    return [e.get("bizStep", "").rsplit("-", 1)[-1].rsplit(":", 1)[-1] for e in events]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["commissioning", "packing", "shipping", "receiving", "repairing"]),
        ({"eventType": "AggregationEvent|TransformationEvent"}, ["packing", "repairing"]),
        ({"GE_eventTime": "2026-11-02T00:00:00+08:00"}, ["shipping", "receiving", "repairing"]),
        ({"LT_eventTime": "2026-11-01T09:00:00+08:00"}, ["commissioning"]),
        (
            {"GE_eventTime": "2026-11-01T01:00:00Z", "LT_eventTime": "2026-11-02T00:00:01Z"},
            ["packing", "shipping"],
        ),
        (
            {"GE_recordTime": "2000-01-01T00:00:00Z"},
            ["commissioning", "packing", "shipping", "receiving", "repairing"],
        ),
        ({"LT_recordTime": "2000-01-01T00:00:00Z"}, []),
        ({"EQ_action": "OBSERVE"}, ["shipping", "receiving"]),
        ({"EQ_bizStep": "shipping|packing"}, ["packing", "shipping"]),
        # All three spellings of a CBV term match the same events.
        ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"}, ["receiving"]),
        ({"EQ_disposition": "in_progress"}, ["packing", "receiving"]),
        ({"EQ_disposition": "urn:epcglobal:cbv:disp:active"}, ["commissioning"]),
        (
            {"EQ_readPoint": "urn:epc:id:sgln:9506000.00001.0"},
            ["commissioning", "shipping", "receiving"],
        ),
        ({"EQ_bizLocation": WAREHOUSE}, ["shipping"]),
        # An SGLN URN and its Digital Link are the same location.
        ({"EQ_bizLocation": "https://id.gs1.org/414/9506000000039/254/0"}, ["receiving"]),
        ({"MATCH_epc": URN.format("1")}, ["commissioning", "packing"]),
        ({"MATCH_epc": "https://id.gs1.org/01/09506000134352/21/2"}, ["commissioning", "packing"]),
        ({"MATCH_epc": "urn:epc:idpat:sgtin:9506000.013435.*"}, ["commissioning", "packing"]),
        ({"MATCH_parentID": SSCC}, ["packing"]),
        ({"MATCH_inputEPC": URN.format("1")}, ["repairing"]),
        ({"MATCH_outputEPC": URN.format("3")}, ["repairing"]),
        ({"MATCH_anyEPC": URN.format("1")}, ["commissioning", "packing", "repairing"]),
        ({"MATCH_anyEPC": SSCC}, ["packing", "shipping", "receiving"]),
        ({"EQ_bizTransaction_po": "urn:epcglobal:cbv:bt:9506000000005:PO-1"}, ["shipping"]),
        ({"EQ_bizTransaction_inv": "urn:epcglobal:cbv:bt:9506000000005:PO-1"}, []),
        (
            {"orderBy": "eventTime"},
            ["repairing", "receiving", "shipping", "packing", "commissioning"],
        ),
        (
            {"orderBy": "eventTime", "orderDirection": "ASC", "eventCountLimit": "2"},
            ["commissioning", "packing"],
        ),
    ],
)
def test_each_query_parameter(
    platform: Platform, stored: Tenant, params: dict, expected: list
) -> None:
    assert steps(query(platform, stored, **params)) == expected


def test_event_ids_are_queryable(platform: Platform, stored: Tenant) -> None:
    first = query(platform, stored)[0]
    assert steps(query(platform, stored, EQ_eventID=first["eventID"])) == ["commissioning"]
    response = platform.client.get(
        f"/epcis/events/{quote(first['eventID'], safe='')}", headers=stored.auth
    )
    assert response.status_code == 200
    assert steps(response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == [
        "commissioning"
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
        ({"GE_eventTime": "2026-11-01T00:00:00"}, "GE_eventTime"),  # no offset
        ({"EQ_action": "UPSERT"}, "EQ_action"),
        ({"orderBy": "bizStep"}, "orderBy"),
        ({"orderBy": "eventTime", "orderDirection": "UP"}, "orderDirection"),
        ({"eventCountLimit": "3"}, "eventCountLimit"),
        ({"orderBy": "eventTime", "eventCountLimit": "1", "maxEventCount": "1"}, "eventCountLimit"),
        ({"perPage": "0"}, "perPage"),
        ({"EQ_quantity": "3"}, "EQ_quantity"),  # a standard parameter this repository lacks
        ({"HAS_nonsense": "1"}, "HAS_nonsense"),
        ({"nextPageToken": "garbage"}, "nextPageToken"),
        ({"EQ_bizStep": ""}, "EQ_bizStep"),
    ],
)
def test_bad_queries_are_query_parameter_exceptions(
    platform: Platform, stored: Tenant, params: dict, field: str
) -> None:
    response = platform.client.get("/epcis/events", params=params, headers=stored.auth)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "epcisException:QueryParameterException"
    assert response.json()["field"] == field


def test_max_event_count_refuses_a_larger_result(platform: Platform, stored: Tenant) -> None:
    response = platform.client.get(
        "/epcis/events", params={"maxEventCount": 4}, headers=stored.auth
    )
    assert response.status_code == 413
    assert response.json()["type"] == "epcisException:QueryTooLargeException"
    assert len(query(platform, stored, maxEventCount=5)) == 5


@pytest.mark.parametrize(
    "order", [{}, {"orderBy": "eventTime"}, {"orderBy": "recordTime", "orderDirection": "ASC"}]
)
def test_paging_follows_link_headers_through_every_event_once(
    platform: Platform, stored: Tenant, order: dict
) -> None:
    everything = query(platform, stored, perPage=100, **order)
    seen: list[dict] = []
    response = platform.client.get(
        "/epcis/events", params={"perPage": 2, **order}, headers=stored.auth
    )
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        seen += response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            break
        url = link.split(">", 1)[0].lstrip("<")
        response = platform.client.get(url, headers=stored.auth)
    assert pages == 3
    assert [e["eventID"] for e in seen] == [e["eventID"] for e in everything]
    # A token is bound to its query.
    first = platform.client.get(
        "/epcis/events", params={"perPage": 2, **order}, headers=stored.auth
    )
    token = first.headers["Link"].split("nextPageToken=", 1)[1].split(">", 1)[0]
    other = platform.client.get(
        "/epcis/events",
        params={"perPage": 2, "EQ_action": "ADD", "nextPageToken": token},
        headers=stored.auth,
    )
    assert other.status_code == 400


def test_resource_endpoints(platform: Platform, stored: Tenant) -> None:
    auth = stored.auth
    top = platform.client.get("/epcis", headers=auth).json()
    assert top["type"] == "Collection"
    assert "events" in top["member"]
    types = platform.client.get("/epcis/eventTypes", headers=auth).json()["member"]
    assert set(types) == {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
    assert steps(query(platform, stored, "/epcis/eventTypes/AggregationEvent/events")) == [
        "packing"
    ]
    assert platform.client.get("/epcis/eventTypes/Nonsense/events", headers=auth).status_code == 404
    biz_steps = platform.client.get("/epcis/bizSteps", headers=auth).json()["member"]
    assert biz_steps == sorted(["commissioning", "packing", "shipping", "receiving", "repairing"])
    assert steps(query(platform, stored, "/epcis/bizSteps/shipping/events")) == ["shipping"]
    dispositions = platform.client.get("/epcis/dispositions", headers=auth).json()["member"]
    assert set(dispositions) == {"active", "in_progress", "in_transit"}
    assert steps(query(platform, stored, "/epcis/dispositions/in_transit/events")) == ["shipping"]
    locations = platform.client.get("/epcis/bizLocations", headers=auth).json()["member"]
    assert len(locations) == 2
    assert steps(
        query(platform, stored, f"/epcis/bizLocations/{quote(WAREHOUSE, safe='')}/events")
    ) == ["shipping"]
    read_points = platform.client.get("/epcis/readPoints", headers=auth).json()["member"]
    assert len(read_points) == 1
    assert (
        len(query(platform, stored, f"/epcis/readPoints/{quote(read_points[0], safe='')}/events"))
        == 3  # commissioning, shipping and receiving were read there
    )


def test_an_epcs_history_by_urn_or_digital_link(platform: Platform, stored: Tenant) -> None:
    by_urn = query(platform, stored, f"/epcis/epcs/{quote(URN.format('1'), safe='')}/events")
    link = "https://brand.example.com/01/09506000134352/21/1"
    by_link = query(platform, stored, f"/epcis/epcs/{quote(link, safe='')}/events")
    assert steps(by_urn) == steps(by_link) == ["commissioning", "packing", "repairing"]


def test_queries_read_while_another_process_holds_the_write_lock(
    platform: Platform, stored: Tenant
) -> None:
    # Read-only requests begin DEFERRED on SQLite: a capture (or anything) holding the write
    # lock does not stall them. Were they to need the lock, they would fail here once the
    # busy timeout ran out, since the lock is held until they have answered.
    if not platform.settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL readers never wait for writers")
    path = platform.settings.resolved_database_url.split("///", 1)[1]
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")
        assert len(query(platform, stored)) == 5
        assert steps(
            query(platform, stored, f"/epcis/epcs/{quote(URN.format('1'), safe='')}/events")
        )
        capture_jobs = platform.client.get("/epcis/capture", headers=stored.auth)
        assert capture_jobs.status_code == 200
    finally:
        writer.rollback()
        writer.close()
