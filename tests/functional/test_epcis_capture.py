"""EPCIS capture through HTTP: JSON-LD and XML, atomicity, idempotence, the log, permissions."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from tests.conformance import CONFORMANCE
from tests.conftest import Platform, Tenant
from traceseal.epcis.hashing import event_hash
from traceseal.epcis.models import CaptureJob, Event, EventEpc
from traceseal.epcis.pipeline import CHUNK_EVENTS, PARALLEL_FROM
from traceseal.epcis.vocab import CONTEXT_URL as CONTEXT
from traceseal.ledger.models import LedgerLeaf
from traceseal.orgs.models import Role

EXAMPLES = CONFORMANCE / "gs1-epcis-2.0"
#: GTIN 09506000134352 as an SGTIN URN: company prefix 9506000, indicator + item 013435.
URN = "urn:epc:id:sgtin:9506000.013435.{}"


def document(*events: dict[str, Any], prefixes: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "@context": [CONTEXT, *([prefixes] if prefixes else [])],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T08:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def object_event(serials: list[str], when: str = "2026-11-01T08:00:00+08:00", **extra: Any) -> dict:
    return {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+08:00",
        "epcList": [URN.format(s) for s in serials],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"},
        **extra,
    }


def capture(
    platform: Platform, tenant: Tenant, body: Any, content_type: str = "application/ld+json"
):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return platform.client.post(
        "/epcis/capture", content=data, headers={**tenant.auth, "Content-Type": content_type}
    )


def register_distributor(platform: Platform, brand: Tenant, name: str) -> Tenant:
    """``name`` as a distributor ``brand`` registered (its organisation made here)."""
    response = platform.client.post(
        "/api/v1/distributors", json={"name": name, "territory": ["440000"]}, headers=brand.auth
    )
    assert response.status_code == 201, response.text
    return Tenant(response.json()["organization_id"], name, response.json()["api_key"])


def counts(platform: Platform) -> tuple[int, int, int, int]:
    with platform.session_factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (CaptureJob, Event, EventEpc, LedgerLeaf)
        )


def query(
    platform: Platform, tenant: Tenant, path: str = "/epcis/events", **params: Any
) -> list[dict]:
    response = platform.client.get(path, params=params, headers=tenant.auth)
    assert response.status_code == 200, response.text
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_capture_answers_202_with_a_finished_job_and_stores_every_event_with_its_leaf(
    platform: Platform, acme: Tenant
) -> None:
    response = capture(platform, acme, document(object_event(["1", "2"]), object_event(["3"])))
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert location.startswith("/epcis/capture/")
    job = platform.client.get(location, headers=acme.auth).json()
    assert job["running"] is False
    assert job["success"] is True
    assert job["eventCount"] == 2
    assert job["errors"] == []

    events = query(platform, acme)
    assert len(events) == 2
    for event in events:
        # No eventID was sent: the CBV 2.0 event hash became it.
        assert event["eventID"].startswith("ni:///sha-256;")
        assert event["eventID"].endswith("?ver=CBV2.0")
        leaf = platform.client.get(f"/ledger/leaves/{event['traceseal:leafIndex']}").json()
        record = json.loads(base64.b64decode(leaf["data"]))
        assert record["kind"] == "epcis.event"
        assert record["ref"] == event["eventID"]
    assert counts(platform) == (1, 2, 3, 2)


def test_recapturing_the_same_events_stores_nothing_twice(platform: Platform, acme: Tenant) -> None:
    body = document(object_event(["1", "2"]), object_event(["3"]))
    assert capture(platform, acme, body).status_code == 202
    before = counts(platform)
    again = capture(platform, acme, body)
    assert again.status_code == 202
    assert again.json()["duplicateCount"] == 2
    # A new job row; no event, index row or leaf.
    assert counts(platform) == (before[0] + 1, *before[1:])
    # The same event twice in one document is stored once too.
    twice = capture(platform, acme, document(object_event(["9"]), object_event(["9"])))
    assert twice.json()["duplicateCount"] == 1
    assert counts(platform)[1] == before[1] + 1


def test_an_invalid_event_rejects_the_whole_document_naming_it(
    platform: Platform, acme: Tenant
) -> None:
    capture(platform, acme, document(object_event(["1"])))
    before = counts(platform)
    bad = object_event(["3"], bizStep="not_a_cbv_step")
    response = capture(platform, acme, document(object_event(["2"]), bad))
    assert response.status_code == 400
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "epcisException:ValidationException"
    assert problem["eventIndex"] == 1
    assert problem["field"] == "/epcisBody/eventList/1/bizStep"
    assert counts(platform) == before


def test_reusing_an_event_id_for_different_content_is_refused(
    platform: Platform, acme: Tenant
) -> None:
    first = object_event(["1"], eventID="urn:uuid:0d2b1c3e-8c3e-4c1e-9d5b-1a2b3c4d5e6f")
    assert capture(platform, acme, document(first)).status_code == 202
    before = counts(platform)
    second = {**first, "epcList": [URN.format("2")]}
    response = capture(platform, acme, document(object_event(["7"]), second))
    assert response.status_code == 400
    assert response.json()["eventIndex"] == 1
    assert "already used" in response.json()["detail"]
    assert counts(platform) == before


def test_who_may_capture(platform: Platform, acme: Tenant) -> None:
    body = document(object_event(["1"]))
    for role in (Role.LAB, Role.REGULATOR):
        other = platform.org(f"a {role.value}", role)
        response = capture(platform, other, body)
        assert response.status_code == 403, response.text
    assert platform.client.post("/epcis/capture", json=body).status_code == 401
    # A distributor records the shipping of a brand that registered it (test_capture_rights).
    distributor = register_distributor(platform, acme, "顺达物流")
    shipped = document(object_event(["1"], action="OBSERVE", bizStep="shipping"))
    assert capture(platform, distributor, shipped).status_code == 202
    assert capture(platform, platform.operator, document(object_event(["2"]))).status_code == 202


def test_media_types_and_limits(platform: Platform, acme: Tenant) -> None:
    response = capture(platform, acme, b"hello", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["type"] == "epcisException:ImplementationException"
    response = capture(platform, acme, b"{not json")
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]
    options = platform.client.options("/epcis/capture", headers=acme.auth)
    assert options.status_code == 204
    assert (
        int(options.headers["GS1-EPCIS-Capture-Limit"])
        == platform.settings.epcis_capture_max_events
    )


def test_a_captured_event_queried_back_is_the_same_json_ld(
    platform: Platform, acme: Tenant
) -> None:
    source = json.loads((EXAMPLES / "JSON" / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    assert capture(platform, acme, source).status_code == 202
    back = platform.client.get(
        "/epcis/events", params={"perPage": 100}, headers=platform.operator.auth
    )
    body = back.json()
    returned = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    sent = source["epcisBody"]["eventList"]
    assert len(returned) == len(sent)
    for original, stored in zip(sent, returned, strict=True):
        stored = copy.deepcopy(stored)
        assert stored.pop("recordTime")
        stored.pop("traceseal:leafIndex")
        if "eventID" not in original:
            stored.pop("eventID")
        assert stored == original
    # The document's own prefixes come back in the query document's context.
    prefixes = {k: v for c in source["@context"] if isinstance(c, dict) for k, v in c.items()}
    returned_prefixes = {
        k: v for c in body["@context"] if isinstance(c, dict) for k, v in c.items()
    }
    assert prefixes.items() <= returned_prefixes.items()


def test_xml_documents_of_both_versions_are_captured(platform: Platform, acme: Tenant) -> None:
    xml20 = (EXAMPLES / "XML" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    response = capture(platform, acme, xml20, content_type="application/xml")
    assert response.status_code == 202, response.text
    xml12 = (CONFORMANCE / "epcis-1.2" / "gs1" / "XML" / "ObjectEvent.xml").read_bytes()
    response = capture(platform, acme, xml12, content_type="text/xml")
    assert response.status_code == 202, response.text
    jobs = platform.client.get("/epcis/capture", headers=acme.auth).json()
    assert [job["eventCount"] > 0 for job in jobs] == [True, True]


def test_brand_owners_see_events_about_their_products_captured_by_others(
    platform: Platform, acme: Tenant
) -> None:
    distributor = register_distributor(platform, acme, "顺达物流")
    stranger = platform.org("Another brand")
    regulator = platform.org("市场监管局", Role.REGULATOR)
    shipped = object_event(["5"], action="OBSERVE", bizStep="shipping", disposition="in_transit")
    unrelated = {**object_event([]), "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]}
    assert capture(platform, distributor, document(shipped, unrelated)).status_code == 202
    assert len(query(platform, distributor)) == 2
    mine = query(platform, acme)
    assert [e["bizStep"] for e in mine] == ["shipping"]
    assert query(platform, stranger) == []
    assert len(query(platform, regulator)) == 2
    event_id = mine[0]["eventID"]
    path = f"/epcis/events/{quote(event_id, safe='')}"
    assert platform.client.get(path, headers=acme.auth).status_code == 200
    assert platform.client.get(path, headers=stranger.auth).status_code == 404


def test_an_events_leaf_is_rebuilt_from_what_the_api_shows(
    platform: Platform, acme: Tenant
) -> None:
    own_id = "urn:uuid:3f0e8c1a-5b7d-4e2f-9a6c-1d2e3f405162"
    response = capture(
        platform, acme, document(object_event(["1"]), object_event(["2"], eventID=own_id))
    )
    capture_id = response.json()["captureID"]
    for event in query(platform, acme):
        hash_id = event["eventID"] if event["eventID"] != own_id else None
        if hash_id is None:
            # An event with its own eventID: the hash is recomputed from the event itself.
            bare = {
                k: v for k, v in event.items() if k not in ("recordTime", "traceseal:leafIndex")
            }
            hash_id = event_hash(bare, {})
        content = json.dumps(
            {"captureID": capture_id, "eventHash": hash_id, "eventID": event["eventID"]},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        expected = json.dumps(
            {
                "kind": "epcis.event",
                "ref": hash_id,
                "sha256": hashlib.sha256(content).hexdigest(),
                "v": 1,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        leaf = platform.client.get(f"/ledger/leaves/{event['traceseal:leafIndex']}").json()
        assert base64.b64decode(leaf["data"]) == expected


def test_a_large_document_is_prepared_in_worker_processes_and_stored_whole(
    platform: Platform, acme: Tenant
) -> None:
    # Past pipeline.PARALLEL_FROM events, chunks are prepared in worker processes while
    # the request's thread stores the chunks before them, all in one transaction.
    count = PARALLEL_FROM + CHUNK_EVENTS // 2
    events = [object_event([f"big-{i}"]) for i in range(count)]
    bad = count - 10  # in the last chunk, after earlier chunks were stored
    refused_events = [*events[:bad], object_event(["bad"], bizStep="gluing"), *events[bad + 1 :]]
    before = counts(platform)
    refused = capture(platform, acme, document(*refused_events))
    assert refused.status_code == 400, refused.text
    assert refused.json()["eventIndex"] == bad
    assert refused.json()["field"] == f"/epcisBody/eventList/{bad}/bizStep"
    assert counts(platform) == before
    accepted = capture(platform, acme, document(*events))
    assert accepted.status_code == 202, accepted.text
    assert counts(platform)[1] == before[1] + count
    # A repeat across chunk boundaries is stored once.
    again = capture(platform, acme, document(*events[:10], *events))
    assert again.json()["duplicateCount"] == count + 10


def test_documents_of_the_wrong_shape_are_refused_not_crashed_on(
    platform: Platform, acme: Tenant
) -> None:
    before = counts(platform)
    for body in (
        {**document(), "epcisBody": []},
        {**document(), "epcisBody": {"eventList": {"type": "ObjectEvent"}}},
        {**document(), "epcisBody": {"eventList": ["not an event"]}},
        {**document(), "type": "EPCISQueryDocument", "epcisBody": {"queryResults": 3}},
        [document()],
    ):
        response = capture(platform, acme, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["type"] == "epcisException:ValidationException"
    assert counts(platform) == before


def test_a_query_document_is_captured_as_its_events(platform: Platform, acme: Tenant) -> None:
    # The binding lets a client capture what another repository's query returned.
    source = EXAMPLES / "not-capture" / "EPCISQueryDocument.jsonld"
    response = capture(platform, acme, source.read_bytes())
    assert response.status_code == 202, response.text
    assert response.json()["eventCount"] == 2
    assert len(query(platform, acme)) == 2
