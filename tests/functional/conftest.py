"""Fixtures shared by the verification and resolver tests."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import Platform, Tenant, add_batch, add_product

GTIN = "09506000134352"
LOT = "L2026-11A"


@pytest.fixture
def acme(platform: Platform) -> Tenant:
    """A brand owner with GTIN and its lot LOT registered."""
    tenant = platform.org("安盾消防科技有限公司")
    add_product(platform, tenant, GTIN)
    add_batch(platform, tenant, GTIN, LOT)
    return tenant


def issue(
    platform: Platform, tenant: Tenant, count: int, *, activate: str | None = "all", lot=LOT
) -> list[str]:
    """Issue ``count`` codes for GTIN and activate them (``"all"``, a range, or None)."""
    run = platform.client.post(
        "/api/v1/code-runs", json={"product": GTIN, "count": count}, headers=tenant.auth
    )
    assert run.status_code == 201, run.text
    run_id = run.json()["run"]
    if activate:
        body = {"lot": lot} if activate == "all" else {"lot": lot, "range": activate}
        response = platform.client.post(
            f"/api/v1/code-runs/{run_id}/activate", json=body, headers=tenant.auth
        )
        assert response.status_code == 200, response.text
    listing = platform.client.get(f"/api/v1/code-runs/{run_id}/codes.csv", headers=tenant.auth)
    return [row["code"] for row in csv.DictReader(io.StringIO(listing.text))]
