"""API keys have a life: listed, created with a scope and an expiry, rotated, revoked (refused
from the next request on), and managed only by the organisation's admin keys or the operator."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Platform, serve
from traceseal.config import Settings


def _call(base: str, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
    """A real HTTP request to the served instance."""
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def served(migrated: Settings) -> Any:
    with serve(migrated) as platform:
        yield platform


def test_a_revoked_key_is_refused_on_the_next_request(served: Platform) -> None:
    base = served.settings.public_url
    acme = served.org("Acme")  # its first key is an admin key
    status, made = _call(base, "POST", "/api/v1/orgs/me/keys", acme.key, {"name": "scanner"})
    assert status == 201
    assert made["key"]["scope"] == "member"
    scanner = made["api_key"]
    assert _call(base, "GET", "/api/v1/orgs/me", scanner)[0] == 200
    assert _call(base, "DELETE", f"/api/v1/orgs/me/keys/{made['key']['id']}", acme.key)[0] == 204
    status, problem = _call(base, "GET", "/api/v1/orgs/me", scanner)
    assert status == 401
    assert "revoked" in problem["detail"]
    status, keys = _call(base, "GET", "/api/v1/orgs/me/keys", acme.key)
    assert [k["name"] for k in keys] == ["", "scanner"]
    assert keys[0]["last_used_at"] is not None  # the admin key was just used
    assert keys[1]["revoked_at"] is not None
    assert all("api_key" not in k and "key_hash" not in k for k in keys)


def test_only_admin_keys_manage_keys(served: Platform) -> None:
    base = served.settings.public_url
    acme = served.org("Acme")
    _, made = _call(base, "POST", "/api/v1/orgs/me/keys", acme.key, {"scope": "member"})
    member = made["api_key"]
    assert _call(base, "POST", "/api/v1/orgs/me/keys", member, {})[0] == 403
    assert _call(base, "DELETE", f"/api/v1/orgs/me/keys/{made['key']['id']}", member)[0] == 403
    # Another organisation's key id answers like a missing one.
    rival = served.org("Rival")
    assert _call(base, "DELETE", f"/api/v1/orgs/me/keys/{made['key']['id']}", rival.key)[0] == 404


def test_an_expired_key_is_refused(served: Platform) -> None:
    base = served.settings.public_url
    acme = served.org("Acme")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    status, made = _call(base, "POST", "/api/v1/orgs/me/keys", acme.key, {"expires_at": soon})
    assert status == 201
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert _call(base, "POST", "/api/v1/orgs/me/keys", acme.key, {"expires_at": past})[0] == 422
    # Expire it by the clock, not by waiting: move its expiry into the past.
    with served.session_factory.begin() as session:
        from traceseal.orgs.models import ApiKey

        session.get(ApiKey, made["key"]["id"]).expires_at = datetime.now(UTC) - timedelta(1)
    assert _call(base, "GET", "/api/v1/orgs/me", made["api_key"])[0] == 401


def test_rotation_and_the_operators_authority(served: Platform) -> None:
    base = served.settings.public_url
    acme = served.org("Acme")
    operator = served.operator.key
    status, made = _call(base, "POST", f"/api/v1/orgs/{acme.id}/keys", operator, {"name": "ci"})
    assert status == 201
    status, rotated = _call(
        base, "POST", f"/api/v1/orgs/me/keys/{made['key']['id']}/rotate", acme.key
    )
    assert status == 201
    assert rotated["key"]["name"] == "ci"
    assert _call(base, "GET", "/api/v1/orgs/me", made["api_key"])[0] == 401
    assert _call(base, "GET", "/api/v1/orgs/me", rotated["api_key"])[0] == 200
    path = f"/api/v1/orgs/{acme.id}/keys/{rotated['key']['id']}"
    assert _call(base, "DELETE", path, operator)[0] == 204
    assert _call(base, "GET", "/api/v1/orgs/me", rotated["api_key"])[0] == 401
    assert _call(base, "GET", f"/api/v1/orgs/{acme.id}/keys", acme.key)[0] == 403
