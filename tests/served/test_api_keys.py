"""API keys against a served instance, managed through the API and with ``traceseal keys`` on
the same database: a revoked key is refused from the very next request, whichever route it
is sent to; an expired key too; only an organisation's admin keys (and the operator) manage
keys, and a member key never grows into more; a key's last use is recorded on every route."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.served.conftest import Brand, Served, database, running, sgtin
from traceseal.epcis.vocab import CONTEXT_URL

#: What each of these answers is refused with: the key, not its organisation's rights.
REFUSED = "unknown, revoked or expired API key"


def status(served: Served, key: str, method: str = "GET", path: str = "/api/v1/orgs/me") -> int:
    return served.call(method, path, key).status_code


def refused_everywhere(served: Served, brand: Brand, key: str) -> None:
    """The key answers 401 on routes that authenticate in different ways: the request's own
    session, a read-only one, the capture's short check, and a shop's trade check."""
    for method, path in (
        ("GET", "/api/v1/orgs/me"),
        ("GET", "/api/v1/code-runs"),
        ("GET", "/epcis/events"),
    ):
        response = served.call(method, path, key)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["detail"] == REFUSED
    capture = served.capture(Tenant(brand.id, brand.name, key), _document(brand))
    assert capture.status_code == 401, capture.text
    check = served.call("POST", "/api/v1/verify", key, json={"code": "1" * 20})
    assert check.status_code == 401, check.text


def _document(brand: Brand) -> dict[str, Any]:
    return {
        "@context": [CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": datetime.now(UTC).isoformat(),
                    "eventTimeZoneOffset": "+08:00",
                    "epcList": [sgtin(brand.gtin, str(time.monotonic_ns()))],
                    "action": "ADD",
                    "bizStep": "commissioning",
                }
            ]
        },
    }


def keys(served: Served, brand: Tenant) -> dict[str, dict[str, Any]]:
    """The organisation's keys by name, as its admin key lists them."""
    listed = served.call("GET", "/api/v1/orgs/me/keys", brand.key)
    assert listed.status_code == 200, listed.text
    return {key["name"]: key for key in listed.json()}


def listed(served: Served, brand: Tenant) -> dict[str, dict[str, Any]]:
    """The organisation's keys by name, as ``traceseal keys list`` prints them."""
    found = served.cli.json("keys", "list", "--org", str(brand.id))["keys"]
    return {key["name"]: key for key in found}


def test_a_key_revoked_through_the_api_is_refused_on_the_very_next_request(
    served: Served,
) -> None:
    brand = served.brand()
    made = served.call("POST", "/api/v1/orgs/me/keys", brand.key, json={"name": "warehouse"})
    assert made.status_code == 201, made.text
    token, key_id = made.json()["api_key"], made.json()["key"]["id"]
    assert status(served, token) == 200
    assert served.capture(Tenant(brand.id, brand.name, token), _document(brand)).status_code == 202

    revoked = served.call("DELETE", f"/api/v1/orgs/me/keys/{key_id}", brand.key)
    assert revoked.status_code == 204, revoked.text
    refused_everywhere(served, brand, token)
    assert listed(served, brand)["warehouse"]["revoked_at"] is not None
    assert status(served, brand.key) == 200  # the admin key that revoked it works on


def test_keys_made_and_revoked_with_the_cli_bind_the_running_server(served: Served) -> None:
    brand = served.brand()
    made = served.cli.json("keys", "create", "--org", brand.name, "--name", "scanner")
    token, key_id = made["api_key"], made["key"]["id"]
    assert made["key"]["scope"] == "member"
    assert status(served, token) == 200
    served.cli.run("keys", "revoke", "--org", brand.name, "--id", str(key_id))
    refused_everywhere(served, brand, token)
    # A key made through the API is revoked by the CLI just the same.
    made = served.call("POST", "/api/v1/orgs/me/keys", brand.key, json={"name": "till"}).json()
    assert status(served, made["api_key"]) == 200
    served.cli.run("keys", "revoke", "--org", str(brand.id), "--id", str(made["key"]["id"]))
    assert status(served, made["api_key"]) == 401


def test_an_expired_key_is_refused(served: Served) -> None:
    brand = served.brand()
    # Seconds ahead: enough for one request on a busy machine, and the test waits them out.
    soon = datetime.now(UTC) + timedelta(seconds=4)
    made = served.call(
        "POST",
        "/api/v1/orgs/me/keys",
        brand.key,
        json={"name": "temp", "expires_at": soon.isoformat()},
    )
    assert made.status_code == 201, made.text
    token = made.json()["api_key"]
    assert status(served, token) == 200
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    refused_everywhere(served, brand, token)
    # The CLI sets expiries with a time zone (its own start-up takes too long for seconds).
    later = datetime(2099, 6, 30, tzinfo=timezone(timedelta(hours=8)))
    by_cli = served.cli.json(
        "keys", "create", "--org", brand.name, "--name", "cli", "--expires", later.isoformat()
    )
    assert datetime.fromisoformat(by_cli["key"]["expires_at"]) == later
    assert status(served, by_cli["api_key"]) == 200
    # An expiry in the past is refused when the key is made, not discovered later.
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    late = served.call("POST", "/api/v1/orgs/me/keys", brand.key, json={"expires_at": past})
    assert late.status_code == 422
    result = served.cli.run("keys", "create", "--org", brand.name, "--expires", past, ok=False)
    assert result.returncode == 1
    assert "expiry must be in the future" in result.stderr
    assert set(keys(served, brand)) == {"", "temp", "cli"}


def test_only_admin_keys_and_the_operator_manage_keys(served: Served) -> None:
    brand = served.brand()
    member = served.call("POST", "/api/v1/orgs/me/keys", brand.key, json={"name": "m"}).json()
    member_key, member_id = member["api_key"], member["key"]["id"]
    admin_id = keys(served, brand)[""]["id"]  # the organisation's first key
    # A member key works, but cannot mint, rotate or revoke keys: not even an admin key for
    # itself, nor rotate itself into a new one, nor revoke the admin key.
    assert served.call("GET", "/api/v1/code-runs", member_key).status_code == 200
    for method, path, body in (
        ("POST", "/api/v1/orgs/me/keys", {"scope": "admin"}),
        ("POST", "/api/v1/orgs/me/keys", {}),
        ("POST", f"/api/v1/orgs/me/keys/{member_id}/rotate", None),
        ("DELETE", f"/api/v1/orgs/me/keys/{admin_id}", None),
        ("POST", f"/api/v1/orgs/{brand.id}/keys", {"scope": "admin"}),
    ):
        response = served.call(method, path, member_key, json=body)
        assert response.status_code == 403, (path, response.text)
    assert status(served, brand.key) == 200
    assert len(keys(served, brand)) == 2  # nothing was made

    # An admin key manages its own organisation's keys only.
    rival = served.brand("Rival")
    for method, path in (
        ("DELETE", f"/api/v1/orgs/me/keys/{member_id}"),
        ("POST", f"/api/v1/orgs/me/keys/{member_id}/rotate"),
    ):
        assert served.call(method, path, rival.key).status_code == 404  # as if missing
    for method, path in (
        ("GET", f"/api/v1/orgs/{brand.id}/keys"),
        ("POST", f"/api/v1/orgs/{brand.id}/keys"),
        ("DELETE", f"/api/v1/orgs/{brand.id}/keys/{member_id}"),
    ):
        assert served.call(method, path, rival.key).status_code == 403
    assert status(served, member_key) == 200

    # The operator manages any organisation's keys.
    operator = served.operator.key
    path = f"/api/v1/orgs/{brand.id}/keys/{member_id}"
    assert served.call("DELETE", path, operator).status_code == 204
    assert status(served, member_key) == 401
    made = served.call("POST", f"/api/v1/orgs/{brand.id}/keys", operator, json={"name": "new"})
    assert made.status_code == 201
    assert status(served, made.json()["api_key"]) == 200


@pytest.mark.parametrize("scope", ["member", "admin"])
def test_a_key_acts_only_for_its_own_organisation(served: Served, scope: str) -> None:
    brand = served.brand()
    rival = served.brand("Rival")
    made = served.call("POST", "/api/v1/orgs/me/keys", rival.key, json={"scope": scope}).json()
    token = made["api_key"]
    # Another organisation's product reads as missing; onboarding is the operator's.
    assert status(served, token, path=f"/api/v1/products/{brand.gtin}") == 404
    assert status(served, token, path=f"/api/v1/products/{rival.gtin}") == 200
    onboard = served.call(
        "POST", "/api/v1/orgs", token, json={"name": "Shadow", "role": "operator"}
    )
    assert onboard.status_code == 403


def test_a_keys_last_use_is_recorded_whichever_route_used_it(served: Served) -> None:
    brand = served.brand()
    made = served.call("POST", "/api/v1/orgs/me/keys", brand.key, json={"name": "api"}).json()
    assert keys(served, brand)["api"]["last_used_at"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert status(served, made["api_key"]) == 200
    used = datetime.fromisoformat(keys(served, brand)["api"]["last_used_at"])
    assert used.tzinfo is not None
    assert before <= used <= datetime.now(UTC)


def test_a_last_use_on_capture_query_or_trade_check_routes_is_kept_across_a_restart(
    tmp_path_factory: pytest.TempPathFactory, served: Served
) -> None:
    # Those routes authenticate in short read-only transactions of their own; the server
    # notes the use and writes it in the background, and on a graceful stop at the latest.
    engine = "sqlite" if served.database_url.startswith("sqlite") else "postgresql"
    directory = tmp_path_factory.mktemp("restart")
    with database(engine, directory) as url:
        with running(directory / "var", url) as server:
            brand = server.brand()
            (code,) = server.issue(brand, 1)
            tokens = {
                name: server.call(
                    "POST", "/api/v1/orgs/me/keys", brand.key, json={"name": name}
                ).json()["api_key"]
                for name in ("capture", "query", "trade")
            }
            tenant = Tenant(brand.id, brand.name, tokens["capture"])
            assert server.capture(tenant, _document(brand)).status_code == 202
            assert status(server, tokens["query"], path="/epcis/events") == 200
            assert server.verify(code, key=tokens["trade"])["verdict"] == "genuine"
        # Stopped: only the database tells.
        after = listed(server, brand)
    for name in ("capture", "query", "trade"):
        assert after[name]["last_used_at"] is not None, name
