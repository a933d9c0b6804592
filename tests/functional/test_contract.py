"""The API contract at its edges: numbers past 64 bits, JSON nested too deep, forged page
tokens, text that is not Unicode, a method a path lacks. Each answers a 4xx problem."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import Platform, add_product
from tests.functional.test_epcis_capture import CONTEXT, capture

HUGE = 2**64 + 1


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/code-runs/{HUGE}",
        f"/api/v1/code-runs/{HUGE}/codes.csv",
        f"/api/v1/quality/records/{HUGE}",
        f"/directory/records/{HUGE}",
        f"/directory?before={HUGE}",
        f"/api/v1/distributors/{HUGE}",
        f"/api/v1/orgs/{HUGE}/signing-keys",
        f"/api/v1/products?after_id={HUGE}",
        f"/ledger/proof/inclusion?index={HUGE}&size=1",
    ],
)
def test_integers_past_64_bits_are_refused(platform: Platform, path: str) -> None:
    response = platform.client.get(path, headers=platform.operator.auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_ids_in_bodies_are_bounded(platform: Platform) -> None:
    acme = platform.org("Acme")
    add_product(platform, acme)
    response = platform.client.post(
        "/api/v1/code-runs",
        json={"product": "09506000134352", "count": 1, "programme": HUGE},
        headers=acme.auth,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "programme"


def _deep_event(depth: int) -> str:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-01T08:00:00Z",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sscc:0614141.1234567890"],
        "action": "OBSERVE",
    }
    # Written by hand: json.dumps itself recurses once per level.
    nested = '{"ex:n": ' * depth + "1" + "}" * depth
    return json.dumps(event)[:-1] + ', "ex:deep": ' + nested + "}"


def test_deeply_nested_extensions_are_refused(platform: Platform) -> None:
    document = {
        "@context": [CONTEXT, {"ex": "https://ns.example.com/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T08:00:00Z",
        "epcisBody": {"eventList": []},
    }
    body = json.dumps(document).replace('"eventList": []', f'"eventList": [{_deep_event(1000)}]')
    response = capture(platform, platform.operator, body.encode(), "application/ld+json")
    assert response.status_code == 400
    assert "nests more than 32 levels" in response.json()["detail"]
    shallow = json.dumps(document).replace('"eventList": []', f'"eventList": [{_deep_event(8)}]')
    assert capture(platform, platform.operator, shallow.encode()).status_code == 202


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-01T00:00:00Z", 2**70, 0, "0" * 16],
        ["not a time", 1, 0, "0" * 16],
        [None, "1", 0, "0" * 16],
        [None, 1, -5, "0" * 16],
        "just a string",
    ],
)
def test_forged_page_tokens_are_refused(platform: Platform, values: object) -> None:
    token = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
    response = platform.client.get(
        "/epcis/events",
        params={"nextPageToken": token, "orderBy": "eventTime"},
        headers=platform.operator.auth,
    )
    assert response.status_code == 400
    assert response.json()["field"] == "nextPageToken"


def test_text_that_is_not_unicode_is_refused(platform: Platform) -> None:
    body = '{"name": "Lab \\ud800", "role": "lab"}'
    response = platform.client.post(
        "/api/v1/orgs",
        content=body,
        headers={**platform.operator.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_a_missing_method_lists_every_method_of_the_path(platform: Platform) -> None:
    response = platform.client.delete("/api/v1/products", headers=platform.operator.auth)
    assert response.status_code == 405
    assert response.headers["allow"].split(", ") == ["GET", "POST"]


def test_the_document_declares_keys_and_problems(platform: Platform) -> None:
    document = platform.client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    operations = document["paths"]
    assert operations["/api/v1/products"]["post"]["security"] == [{"apiKey": []}]
    assert operations["/api/v1/verify"]["post"]["security"] == [{}, {"apiKey": []}]
    assert operations["/ledger/checkpoint"]["get"]["security"] == []
    capture_body = operations["/epcis/capture"]["post"]["requestBody"]["content"]
    assert {"application/ld+json", "application/json", "application/xml"} <= set(capture_body)
    upload = operations["/api/v1/attachments"]["post"]["requestBody"]["content"]
    assert set(upload) == {"application/pdf"}
    for path, methods in operations.items():
        for method, operation in methods.items():
            problem = operation["responses"]["422"]["content"]
            assert "application/problem+json" in problem, (method, path)


def test_every_answer_carries_the_security_headers(platform: Platform) -> None:
    api = platform.client.get("/healthz")
    page = platform.client.get("/verify", headers={"Accept": "text/html"})
    docs = platform.client.get("/docs")
    for response in (api, page, docs):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        # PUBLIC_URL is https in the tests.
        assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # A page with a policy of its own keeps it (the API viewers need an inline script).
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    assert "content-security-policy" not in api.headers


def test_text_with_a_nul_character_never_gives_a_server_error(platform: Platform) -> None:
    response = platform.client.post(
        "/api/v1/orgs", json={"name": "Lab\u0000", "role": "lab"}, headers=platform.operator.auth
    )
    # PostgreSQL cannot store NUL in text: a 422 problem there (SQLite stores it).
    postgres = platform.app.state.engine.dialect.name == "postgresql"
    assert response.status_code == (422 if postgres else 201)
