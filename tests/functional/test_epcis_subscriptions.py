"""Named queries and subscriptions through HTTP (EPCIS 2.0 REST binding, ``/queries``):
webhook deliveries to a real HTTP server on a local port, signed with ``GS1-Signature``
(checked here from its definition: Base64 of HMAC-SHA256 over the body, keyed with the
subscriber's signatureToken), WebSocket streams through the ASGI app, schedules, and
tenancy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import WebSocketDenialResponse

from tests.conftest import Platform, Tenant
from tests.functional.test_epcis_capture import (
    URN,
    capture,
    document,
    object_event,
    register_distributor,
)
from tests.functional.test_webhooks import Receiver
from traceseal.config import Settings
from traceseal.db import utcnow
from traceseal.epcis import socket as socket_module
from traceseal.epcis import subscriptions
from traceseal.epcis.standing_models import SubscriptionDelivery

TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"
SHIPPING = {"EQ_bizStep": ["shipping"]}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on 127.0.0.1; WebSockets look for new events every 50 ms."""
    return settings.replace(outbound_allow_private=1, epcis_stream_poll_ms=50)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=0)
    yield r
    r.close()


@pytest.fixture
def rival(platform: Platform) -> Tenant:
    return platform.org("Rival brand")


def shipped(serial: str, when: str = "2026-11-02T08:00:00+08:00") -> dict[str, Any]:
    return object_event([serial], when, bizStep="shipping", disposition="in_transit")


def make_query(platform: Platform, tenant: Tenant, name: str = "shipped", query=SHIPPING):
    return platform.client.post(
        "/epcis/queries", json={"name": name, "query": query}, headers=tenant.auth
    )


def subscribe(platform: Platform, tenant: Tenant, name: str = "shipped", **body: Any):
    return platform.client.post(
        f"/epcis/queries/{name}/subscriptions", json=body, headers=tenant.auth
    )


def gs1_signature(token: str, body: bytes) -> str:
    """The GS1-Signature this platform documents, computed here from its definition."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def epcs_of(doc: dict[str, Any]) -> list[str]:
    return [epc for event in events_of(doc) for epc in event.get("epcList", [])]


def deliver(platform: Platform) -> int:
    """One pass of the server's delivery task, a second from now (rows are due at once)."""
    return int(platform.app.state.subscription_deliverer.run(utcnow() + timedelta(seconds=1)))


def queued(platform: Platform) -> int:
    with platform.session_factory() as session:
        return session.scalar(select(func.count()).select_from(SubscriptionDelivery)) or 0


def test_named_queries_are_created_listed_read_and_deleted(
    platform: Platform, acme: Tenant
) -> None:
    created = make_query(platform, acme)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/epcis/queries/shipped"
    assert created.json() == {"name": "shipped", "query": SHIPPING}
    assert make_query(platform, acme, "other", {"eventType": ["ObjectEvent"]}).status_code == 201
    listed = platform.client.get("/epcis/queries", headers=acme.auth).json()
    assert [q["name"] for q in listed] == ["other", "shipped"]
    one = platform.client.get("/epcis/queries/shipped", headers=acme.auth)
    assert one.json() == {"name": "shipped", "query": SHIPPING}
    again = make_query(platform, acme)
    assert again.status_code == 409
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    assert platform.client.delete("/epcis/queries/shipped", headers=acme.auth).status_code == 204
    assert platform.client.get("/epcis/queries/shipped", headers=acme.auth).status_code == 404
    assert platform.client.delete("/epcis/queries/shipped", headers=acme.auth).status_code == 404
    assert platform.client.get("/epcis/queries").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "bad name", "query": {}}, "name"),
        ({"name": "x" * 101, "query": {}}, "name"),
        ({"name": "q", "query": {"EQ_bizStep": "shipping"}}, "query/EQ_bizStep"),
        ({"name": "q", "query": {"GE_eventTime": "yesterday"}}, "query/GE_eventTime"),
        ({"name": "q", "query": {"nonsense": ["1"]}}, "query/"),
        # In the standard's schema, but not evaluated here: refused, never ignored.
        ({"name": "q", "query": {"EQ_quantity": [1]}}, "query/EQ_quantity"),
        ({"name": "q", "query": {"EQ_bizStep": ["not_a_step"]}}, "query/EQ_bizStep/0"),
    ],
)
def test_invalid_named_queries_are_problems(
    platform: Platform, acme: Tenant, body: dict, field: str
) -> None:
    response = platform.client.post("/epcis/queries", json=body, headers=acme.auth)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "epcisException:QueryParameterException"
    assert response.json()["field"] == field
    assert platform.client.get("/epcis/queries", headers=acme.auth).json() == []


def test_a_named_querys_events_are_paged_like_events(platform: Platform, acme: Tenant) -> None:
    events = [shipped(str(n), f"2026-11-0{n}T08:00:00+08:00") for n in range(1, 4)]
    capture(platform, acme, document(object_event(["9"]), *events))
    assert make_query(platform, acme).status_code == 201
    first = platform.client.get("/epcis/queries/shipped/events?perPage=2", headers=acme.auth)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/ld+json")
    assert epcs_of(first.json()) == [URN.format("1"), URN.format("2")]
    link = first.headers["Link"]
    assert link.startswith("</epcis/queries/shipped/events?")
    assert link.endswith('>; rel="next"')
    second = platform.client.get(link[1 : link.index(">")], headers=acme.auth)
    assert epcs_of(second.json()) == [URN.format("3")]
    assert "Link" not in second.headers
    refused = platform.client.get("/epcis/queries/shipped/events?stream=true", headers=acme.auth)
    assert refused.status_code == 400
    assert refused.json()["type"] == "epcisException:QueryParameterException"


def test_another_organisation_cannot_see_delete_or_subscribe_to_a_query(
    platform: Platform, acme: Tenant, rival: Tenant, receiver: Receiver
) -> None:
    make_query(platform, acme)
    created = subscribe(platform, acme, dest=receiver.url, stream=True)
    sub = created.json()["subscriptionID"]
    paths = ["/epcis/queries/shipped", "/epcis/queries/shipped/events"]
    paths += ["/epcis/queries/shipped/subscriptions", f"/epcis/queries/shipped/subscriptions/{sub}"]
    for path in paths:
        assert platform.client.get(path, headers=rival.auth).status_code == 404, path
    assert platform.client.get("/epcis/queries", headers=rival.auth).json() == []
    for path in (paths[0], paths[3]):
        assert platform.client.delete(path, headers=rival.auth).status_code == 404
    answer = subscribe(platform, rival, dest=receiver.url, stream=True)
    assert answer.status_code == 404
    assert answer.json() == platform.client.get(
        "/epcis/queries/nothing", headers=rival.auth
    ).json() | {"detail": answer.json()["detail"]}
    # Names are per organisation: the rival may use the same one, for its own query.
    assert make_query(platform, rival).status_code == 201
    assert platform.client.get(paths[3], headers=acme.auth).status_code == 200


def test_a_stream_subscription_receives_new_events_signed(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    capture(platform, acme, document(shipped("1")))  # before subscribing: not sent
    make_query(platform, acme)
    created = subscribe(platform, acme, dest=receiver.url, signatureToken=TOKEN, stream=True)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert (
        created.headers["Location"]
        == f"/epcis/queries/shipped/subscriptions/{sub['subscriptionID']}"
    )
    assert sub["stream"] is True
    assert "signatureToken" not in sub
    assert deliver(platform) == 0

    capture(platform, acme, document(shipped("2"), object_event(["3"])))
    assert queued(platform) == 1  # written in the capture's transaction
    assert deliver(platform) == 1
    [(headers, body)] = receiver.requests
    assert headers["Content-Type"] == "application/json"
    assert headers["GS1-Signature"] == gs1_signature(TOKEN, body)
    assert headers["GS1-Signature"] != gs1_signature(TOKEN, body + b" ")
    assert headers["GS1-Signature"] != gs1_signature(TOKEN[:-1], body)
    doc = json.loads(body)
    assert doc["type"] == "EPCISQueryDocument"
    assert doc["epcisBody"]["queryResults"]["subscriptionID"] == sub["subscriptionID"]
    assert epcs_of(doc) == [URN.format("2")]  # the commissioning event does not match
    assert deliver(platform) == 0  # delivered once is done

    read = platform.client.get(
        f"/epcis/queries/shipped/subscriptions/{sub['subscriptionID']}", headers=acme.auth
    ).json()
    assert "lastNotifiedAt" in read
    assert "signatureToken" not in read


def test_unsubscribing_stops_deliveries_and_deleting_the_query_removes_its_subscriptions(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    make_query(platform, acme)
    first = subscribe(platform, acme, dest=receiver.url, stream=True).json()["subscriptionID"]
    subscribe(platform, acme, dest=receiver.url, stream=True)
    capture(platform, acme, document(shipped("1")))
    assert queued(platform) == 2
    path = f"/epcis/queries/shipped/subscriptions/{first}"
    assert platform.client.delete(path, headers=acme.auth).status_code == 204
    assert platform.client.get(path, headers=acme.auth).status_code == 404
    assert queued(platform) == 1
    assert platform.client.delete("/epcis/queries/shipped", headers=acme.auth).status_code == 204
    assert queued(platform) == 0
    capture(platform, acme, document(shipped("2")))
    assert deliver(platform) == 0
    assert receiver.requests == []


def test_a_subscription_never_delivers_events_the_subscriber_may_not_read(
    platform: Platform, acme: Tenant, rival: Tenant, receiver: Receiver
) -> None:
    make_query(platform, rival)
    assert subscribe(platform, rival, dest=receiver.url, stream=True).status_code == 201
    capture(platform, acme, document(shipped("1")))
    assert queued(platform) == 0
    # Nor through a schedule, nor through the query's events.
    rival_query = {"eventType": ["ObjectEvent"]}
    make_query(platform, rival, "all", rival_query)
    subscribe(
        platform,
        rival,
        "all",
        dest=receiver.url,
        schedule={"second": "0"},
        reportIfEmpty=True,
        initialRecordTime="2000-01-01T00:00:00Z",
    )
    platform.app.state.subscription_scheduler.run(utcnow() + timedelta(minutes=2))
    assert deliver(platform) == 1
    [(_, body)] = receiver.requests
    assert events_of(json.loads(body)) == []
    listed = platform.client.get("/epcis/queries/all/events", headers=rival.auth).json()
    assert events_of(listed) == []


def test_a_schedule_fires_when_due_and_honours_report_if_empty(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    make_query(platform, acme)
    schedule = {"second": "0", "minute": "30", "hour": "2"}
    loud = subscribe(platform, acme, dest=receiver.url, schedule=schedule, reportIfEmpty=True)
    quiet = subscribe(platform, acme, dest=receiver.url, schedule=schedule)
    assert loud.status_code == quiet.status_code == 201, loud.text
    due = datetime.fromisoformat(loud.json()["nextRunAt"])
    # 02:30:00 at the service's offset (+08:00) is 18:30:00 UTC.
    assert (due.hour, due.minute, due.second) == (18, 30, 0)
    assert due - utcnow() <= timedelta(days=1)
    scheduler = platform.app.state.subscription_scheduler
    assert scheduler.run(due - timedelta(seconds=1)) == 0
    assert scheduler.run(due) == 2
    assert scheduler.run(due + timedelta(seconds=1)) == 0  # next: a day later
    assert deliver(platform) == 1  # only reportIfEmpty reports nothing
    [(_, body)] = receiver.requests
    assert events_of(json.loads(body)) == []
    assert (
        json.loads(body)["epcisBody"]["queryResults"]["subscriptionID"]
        == loud.json()["subscriptionID"]
    )

    capture(platform, acme, document(shipped("1"), object_event(["2"])))
    assert queued(platform) == 1  # schedules are not streams: nothing new until due
    assert scheduler.run(due + timedelta(days=1)) == 2
    assert deliver(platform) == 2
    assert [epcs_of(json.loads(b)) for _, b in receiver.requests[1:]] == [[URN.format("1")]] * 2
    assert scheduler.run(due + timedelta(days=2)) == 2
    assert deliver(platform) == 1  # an empty report again, for loud only


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, None),
        ({"dest": "DEST"}, 400, "stream"),
        ({"dest": "DEST", "stream": False}, 400, "stream"),
        ({"dest": "DEST", "stream": True, "schedule": {"hour": "1"}}, 400, "schedule"),
        ({"dest": "DEST", "schedule": {}}, 400, "schedule/schedule"),
        ({"dest": "DEST", "schedule": {"hour": "24"}}, 400, "schedule/hour"),
        ({"dest": "DEST", "schedule": {"minute": "[30-5]"}}, 400, "schedule/minute"),
        ({"dest": "DEST", "schedule": {"second": "0/30"}}, 400, "schedule/second"),
        ({"dest": "DEST", "schedule": {"week": "1"}}, 400, "schedule/week"),
        ({"dest": "DEST", "schedule": {"dayOfMonth": "31", "month": "2"}}, 400, "schedule"),
        ({"dest": "ftp://example.com/x", "stream": True}, 400, "dest"),
        ({"dest": "http://[::1", "stream": True}, 400, "dest"),
        ({"dest": "http://example.com:port/x", "stream": True}, 400, "dest"),
        ({"dest": "DEST", "stream": True, "initialRecordTime": "yesterday"}, 422, None),
        ({"dest": "DEST", "stream": True, "signatureToken": ""}, 400, "signatureToken"),
        ({"dest": "DEST", "stream": True, "extra": 1}, 422, None),
    ],
)
def test_invalid_subscriptions_are_problems(
    platform: Platform, acme: Tenant, receiver: Receiver, body: dict, status: int, field: str | None
) -> None:
    make_query(platform, acme)
    if body.get("dest") == "DEST":
        body = {**body, "dest": receiver.url}
    response = subscribe(platform, acme, **body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if status == 400:
        assert response.json()["type"] == "epcisException:SubscriptionControlsException"
        assert response.json()["field"] == field
    listed = platform.client.get("/epcis/queries/shipped/subscriptions", headers=acme.auth)
    assert listed.json() == []


def test_a_websocket_stream_receives_new_matching_events(
    platform: Platform, acme: Tenant, rival: Tenant
) -> None:
    make_query(platform, acme)
    capture(platform, acme, document(shipped("1")))  # before: not sent
    path = "/epcis/queries/shipped/events?stream=true"
    with platform.client.websocket_connect(path, headers=acme.auth) as socket:
        capture(platform, acme, document(object_event(["2"]), shipped("3")))
        doc = json.loads(socket.receive_text())
        assert doc["type"] == "EPCISQueryDocument"
        assert epcs_of(doc) == [URN.format("3")]
        capture(platform, acme, document(shipped("4")))
        assert epcs_of(json.loads(socket.receive_text())) == [URN.format("4")]
        # Deleting the query ends the subscription.
        platform.client.delete("/epcis/queries/shipped", headers=acme.auth)
        closed = socket.receive()
        assert closed["type"] == "websocket.close"
        assert closed["code"] == 1008


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "/epcis/queries/shipped/events?stream=true", 401),
        ("rival", "/epcis/queries/shipped/events?stream=true", 404),
        ("acme", "/epcis/queries/shipped/events", 400),
        ("acme", "/epcis/queries/shipped/events?stream=true&hour=1", 400),
        ("acme", "/epcis/queries/shipped/events?hour=25", 400),
        ("acme", "/epcis/queries/shipped/events?stream=true&initialRecordTime=x", 400),
        ("acme", "/epcis/queries/shipped/events?stream=true&EQ_bizStep=x", 400),
    ],
)
def test_a_refused_websocket_handshake_answers_a_problem(
    platform: Platform, acme: Tenant, rival: Tenant, who: str | None, path: str, status: int
) -> None:
    make_query(platform, acme)
    headers = {"acme": acme.auth, "rival": rival.auth, None: {}}[who]
    with pytest.raises(WebSocketDenialResponse) as denied:
        platform.client.websocket_connect(path, headers=headers).__enter__()
    assert denied.value.status_code == status
    assert denied.value.headers["content-type"].startswith("application/problem+json")


def test_a_websocket_schedule_reports_when_due(platform: Platform, acme: Tenant) -> None:
    """Every second (second omitted from nothing but itself: "[0-59]"), reportIfEmpty."""
    make_query(platform, acme)
    path = "/epcis/queries/shipped/events?second=[0-59]&reportIfEmpty=true"
    with platform.client.websocket_connect(path, headers=acme.auth) as socket:
        assert events_of(json.loads(socket.receive_text())) == []
        capture(platform, acme, document(shipped("5")))
        for _ in range(5):
            doc = json.loads(socket.receive_text())
            if events_of(doc):
                break
        assert epcs_of(doc) == [URN.format("5")]


def test_initial_record_time_sends_what_was_recorded_since_then_first(
    platform: Platform, acme: Tenant, receiver: Receiver
) -> None:
    capture(platform, acme, document(shipped("1")))
    make_query(platform, acme)
    since = "2000-01-01T00:00:00Z"
    made = subscribe(platform, acme, dest=receiver.url, stream=True, initialRecordTime=since)
    assert made.json()["initialRecordTime"] == "2000-01-01T00:00:00.000Z"
    future = subscribe(
        platform, acme, dest=receiver.url, stream=True, initialRecordTime="2100-01-01T00:00:00Z"
    )
    assert future.status_code == 201
    assert deliver(platform) == 1  # the backlog, for the first only
    capture(platform, acme, document(shipped("2")))
    # What is new, for the first; nothing recorded before 2100 for the second.
    assert deliver(platform) == 1
    sent = [epcs_of(json.loads(body)) for _, body in receiver.requests]
    assert sent == [[URN.format("1")], [URN.format("2")]]
    path = "/epcis/queries/shipped/events?stream=true&initialRecordTime=2000-01-01T00:00:00Z"
    with platform.client.websocket_connect(path, headers=acme.auth) as socket:
        assert epcs_of(json.loads(socket.receive_text())) == [URN.format("1"), URN.format("2")]


def test_a_large_body_is_refused_before_it_is_read(platform: Platform, acme: Tenant) -> None:
    big = {"name": "big", "query": {"MATCH_epc": [URN.format(n) for n in range(10_000)]}}
    response = platform.client.post("/epcis/queries", json=big, headers=acme.auth)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_many_events_go_in_batches(
    platform: Platform, acme: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of BATCH events (500; 2 here, so five events make three of them)."""
    monkeypatch.setattr(subscriptions, "BATCH", 2)
    monkeypatch.setattr(socket_module, "BATCH", 2)
    make_query(platform, acme)
    subscribe(platform, acme, dest=receiver.url, stream=True)
    serials = [str(n) for n in range(1, 6)]
    path = "/epcis/queries/shipped/events?stream=true"
    with platform.client.websocket_connect(path, headers=acme.auth) as socket:
        capture(platform, acme, document(*[shipped(s) for s in serials]))
        streamed = [epcs_of(json.loads(socket.receive_text())) for _ in range(3)]
    assert deliver(platform) == 3
    posted = sorted(epcs_of(json.loads(body)) for _, body in receiver.requests)
    expected = [[URN.format(s) for s in serials[i : i + 2]] for i in (0, 2, 4)]
    assert streamed == expected
    assert posted == expected


def test_a_brand_receives_its_products_events_that_its_distributor_captured(
    platform: Platform, acme: Tenant, rival: Tenant, receiver: Receiver
) -> None:
    """Deliveries follow query.py's rule of who reads what: the capturer, the brand owner of
    the products named, the operator and regulators; not another brand."""
    distributor = register_distributor(platform, acme, "顺达物流")
    made = {}
    for tenant in (acme, rival):
        make_query(platform, tenant)
        made[tenant.name] = subscribe(platform, tenant, dest=receiver.url, stream=True).json()
    captured = capture(platform, distributor, document(shipped("7")))
    assert captured.status_code == 202, captured.text
    assert deliver(platform) == 1
    [(_, body)] = receiver.requests
    assert epcs_of(json.loads(body)) == [URN.format("7")]
    sent_to = json.loads(body)["epcisBody"]["queryResults"]["subscriptionID"]
    assert sent_to == made[acme.name]["subscriptionID"]


def test_open_websockets_are_bounded_per_organisation(
    platform: Platform, acme: Tenant, rival: Tenant
) -> None:
    platform.app.state.settings = platform.settings.replace(epcis_subscriptions_max=1)
    make_query(platform, acme)
    make_query(platform, rival)
    path = "/epcis/queries/shipped/events?stream=true"
    with platform.client.websocket_connect(path, headers=acme.auth):
        with pytest.raises(WebSocketDenialResponse) as denied:
            platform.client.websocket_connect(path, headers=acme.auth).__enter__()
        assert denied.value.status_code == 429
        assert denied.value.headers["Retry-After"] == "60"
        # Another organisation's count is its own.
        with platform.client.websocket_connect(path, headers=rival.auth):
            pass
    # Closed: counted no more.
    with platform.client.websocket_connect(path, headers=acme.auth):
        pass


def test_a_long_history_is_refused_for_streams_and_taken_in_turns_by_schedules(
    platform: Platform, acme: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MAX_BACKLOG events at most at once (50,000; 1 here)."""
    monkeypatch.setattr(subscriptions, "MAX_BACKLOG", 1)
    capture(platform, acme, document(shipped("1"), shipped("2")))
    make_query(platform, acme)
    since = "2000-01-01T00:00:00Z"
    refused = subscribe(platform, acme, dest=receiver.url, stream=True, initialRecordTime=since)
    assert refused.status_code == 400
    assert refused.json()["field"] == "initialRecordTime"
    made = subscribe(
        platform, acme, dest=receiver.url, schedule={"second": "0"}, initialRecordTime=since
    )
    due = datetime.fromisoformat(made.json()["nextRunAt"])
    scheduler = platform.app.state.subscription_scheduler
    assert scheduler.run(due) == 1
    assert scheduler.run(due + timedelta(minutes=1)) == 1
    assert scheduler.run(due + timedelta(minutes=2)) == 1
    assert deliver(platform) == 2  # the third run found nothing new
    sent = [epcs_of(json.loads(body)) for _, body in receiver.requests]
    assert sorted(sent) == [[URN.format("1")], [URN.format("2")]]
