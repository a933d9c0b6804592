"""EPCIS subscriptions against a served instance (``traceseal serve``, its own background
threads): an event captured after subscribing reaches a webhook receiver on this machine,
signed with ``GS1-Signature`` (verified here from its definition), and a WebSocket client
(the ``websockets`` library, over real TCP) receives the same event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.functional.test_webhooks import Receiver
from tests.served.conftest import ENGINES, Served, instance, sgtin, wait_for

TOKEN = "a token the subscriber made up, 和中文"


@pytest.fixture(scope="module", params=ENGINES)
def lenient(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Deliveries may go to this machine; WebSockets look for new events every 100 ms."""
    env = {"TRACESEAL_OUTBOUND_ALLOW_PRIVATE": "1", "TRACESEAL_EPCIS_STREAM_POLL_MS": "100"}
    yield from instance(tmp_path_factory, request.param, env)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(failures=0)
    yield r
    r.close()


def shipping(epc: str) -> dict:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T08:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-11-02T08:00:00+08:00",
                    "eventTimeZoneOffset": "+08:00",
                    "epcList": [epc],
                    "action": "OBSERVE",
                    "bizStep": "shipping",
                    "disposition": "in_transit",
                }
            ]
        },
    }


def events(document: dict) -> list[dict]:
    return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_a_captured_event_reaches_a_signed_webhook_and_a_websocket(
    lenient: Served, receiver: Receiver
) -> None:
    brand = lenient.brand()
    epc = sgtin(brand.gtin, "77")
    query = {"name": "shipped", "query": {"EQ_bizStep": ["shipping"], "MATCH_epc": [epc]}}
    assert lenient.call("POST", "/epcis/queries", brand.key, json=query).status_code == 201
    body = {"dest": receiver.url, "signatureToken": TOKEN, "stream": True}
    made = lenient.call("POST", "/epcis/queries/shipped/subscriptions", brand.key, json=body)
    assert made.status_code == 201, made.text
    socket_url = lenient.url.replace("http://", "ws://") + "/epcis/queries/shipped/events"
    auth = {"Authorization": f"Bearer {brand.key}"}
    with connect(f"{socket_url}?stream=true", additional_headers=auth) as socket:
        captured = lenient.capture(brand, shipping(epc))
        assert captured.status_code == 202, captured.text
        streamed = json.loads(socket.recv(timeout=30))
    [(headers, sent)] = wait_for(lambda: receiver.requests, "the webhook delivery")
    mac = hmac.new(TOKEN.encode("utf-8"), sent, hashlib.sha256).digest()
    assert headers["GS1-Signature"] == base64.b64encode(mac).decode("ascii")
    posted = json.loads(sent)
    assert posted["epcisBody"]["queryResults"]["subscriptionID"] == made.json()["subscriptionID"]
    [event] = events(posted)
    assert event["epcList"] == [epc]
    assert [e["eventID"] for e in events(streamed)] == [event["eventID"]]


def test_a_websocket_without_a_valid_key_is_refused_with_a_problem(lenient: Served) -> None:
    brand = lenient.brand()
    query = {"name": "mine", "query": {"EQ_bizStep": ["shipping"]}}
    assert lenient.call("POST", "/epcis/queries", brand.key, json=query).status_code == 201
    url = lenient.url.replace("http://", "ws://") + "/epcis/queries/mine/events?stream=true"
    other = lenient.org("Another brand")
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {other.key}"}, 404)):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers).close()
        assert refused.value.response.status_code == status
