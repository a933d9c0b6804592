"""Fixtures shared by the verification and resolver tests."""

from __future__ import annotations

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
