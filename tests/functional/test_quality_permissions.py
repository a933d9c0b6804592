"""Who may write what: every role against every quality write endpoint (docs/quality.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Tenant, add_batch
from tests.functional.conftest import GTIN
from tests.functional.quality_helpers import (
    Cast,
    cast,
    certificate,
    commitment,
    credit,
    inspection,
    sampling,
)
from traceseal.orgs.models import Role

__all__ = ["cast"]

ROLES = ("operator", "holder", "other_enterprise", "distributor", "lab", "other_lab", "regulator")


def _members(cast: Cast) -> dict[str, Tenant]:
    return {
        "operator": cast.operator,
        "holder": cast.acme,
        "other_enterprise": cast.platform.org("Another brand"),
        "distributor": cast.distributor,
        "lab": cast.lab,
        "other_lab": cast.platform.org("Another lab", Role.LAB),
        "regulator": cast.regulator,
    }


Body = Callable[[Cast, str], dict[str, Any]]

#: endpoint -> (body for a caller, the roles allowed (201); every other role gets 403).
CREATE: dict[str, tuple[Body, set[str]]] = {
    "/api/v1/certificates": (
        lambda c, who: certificate(c.acme, number=f"C-{who}"),
        {"lab", "other_lab"},
    ),
    "/api/v1/inspection-reports": (
        lambda _, who: inspection(number=f"R-{who}"),
        {"lab", "other_lab"},
    ),
    "/api/v1/sampling-results": (lambda _, who: sampling(campaign=f"S-{who}"), {"regulator"}),
    "/api/v1/credit-ratings": (lambda c, _: credit(c.acme), {"regulator", "operator"}),
    "/api/v1/commitments": (
        lambda _, who: commitment(title=f"T-{who}"),
        {"holder", "other_enterprise"},
    ),
    "/api/v1/programmes": (
        lambda _, who: {"name": f"P-{who}", "rules": {"certificate": {}}},
        {"operator"},
    ),
}


@pytest.mark.parametrize("path", sorted(CREATE))
def test_create_matrix(cast: Cast, path: str) -> None:
    body, allowed = CREATE[path]
    members = _members(cast)
    seen = {}
    for role in ROLES:
        response = cast.platform.client.post(
            path, json=body(cast, role), headers=members[role].auth
        )
        seen[role] = response.status_code
        if response.status_code == 403:
            assert response.headers["content-type"] == "application/problem+json"
    assert seen == {role: 201 if role in allowed else 403 for role in ROLES}
    anonymous = cast.platform.client.post(path, json=body(cast, "anonymous"))
    assert anonymous.status_code == 401
    # Reading is public.
    if path != "/api/v1/programmes":
        assert cast.platform.client.get(path).status_code == 200


@pytest.mark.parametrize("path", sorted(p for p in CREATE if p != "/api/v1/programmes"))
def test_import_matrix(cast: Cast, path: str) -> None:
    _, allowed = CREATE[path]
    members = _members(cast)
    seen = {
        role: cast.platform.client.post(
            f"{path}/import?dry_run=true",
            content=b"nope\n",
            headers={**members[role].auth, "Content-Type": "text/csv"},
        ).status_code
        for role in ROLES
    }
    # Writers get past the role check to the file, whose header is wrong.
    assert seen == {role: 422 if role in allowed else 403 for role in ROLES}


def test_certificate_status_matrix(cast: Cast) -> None:
    created = cast.certificate()
    members = _members(cast)
    change = {"status": "suspended", "reason": "audit", "effective": "2026-11-01"}
    seen = {
        role: cast.platform.client.post(
            f"/api/v1/certificates/{created['id']}/status", json=change, headers=members[role].auth
        ).status_code
        for role in ROLES
        if role != "lab"
    }
    # Another lab's certificate does not exist for it; other roles may not change any.
    expected = {role: 403 for role in ROLES if role != "lab"} | {"other_lab": 404}
    assert seen == expected
    cast.post(f"/api/v1/certificates/{created['id']}/status", cast.lab, change)


def test_recall_matrix(cast: Cast) -> None:
    members = _members(cast)
    seen = {}
    for role in ROLES:
        lot = f"LOT-{role}"
        add_batch(cast.platform, cast.acme, GTIN, lot)
        body = {"gtin": GTIN, "lots": [lot], "reason": "defect", "instructions": "return it"}
        seen[role] = cast.platform.client.post(
            "/api/v1/recalls", json=body, headers=members[role].auth
        ).status_code
    # The brand owner and oversight announce; another brand does not see the product.
    assert seen == {
        "operator": 201,
        "holder": 201,
        "other_enterprise": 404,
        "distributor": 403,
        "lab": 403,
        "other_lab": 403,
        "regulator": 201,
    }
    regulators = cast.platform.client.get(f"/api/v1/recalls?gtin={GTIN}").json()
    ordered = next(r for r in regulators if r["lot"] == "LOT-regulator")
    ends = {
        role: cast.platform.client.post(
            f"/api/v1/recalls/{ordered['id']}/end", headers=members[role].auth
        ).status_code
        for role in ("holder", "other_enterprise", "distributor", "lab")
    }
    # A brand owner cannot lift a regulator's recall.
    assert ends == {"holder": 404, "other_enterprise": 404, "distributor": 404, "lab": 404}


def test_signing_keys_are_per_organisation(cast: Cast) -> None:
    members = _members(cast)
    made = cast.certificate()
    keys = cast.platform.client.get(f"/api/v1/orgs/{cast.lab.id}/signing-keys").json()
    assert [k["id"] for k in keys] == [made["key"]]
    other = members["other_lab"]
    revoke = cast.platform.client.post(
        f"/api/v1/orgs/me/signing-keys/{made['key']}/revoke", headers=other.auth
    )
    assert revoke.status_code == 404
