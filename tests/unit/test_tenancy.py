"""The one tenancy rule: own rows, every row for the roles that see all."""

from __future__ import annotations

import doctest

from sqlalchemy import select

from traceseal.orgs import tenancy
from traceseal.orgs.models import Organization
from traceseal.registry.models import Product


def _org(role: str) -> Organization:
    return Organization(id=7, name=role, role=role)


def test_examples() -> None:
    # SQLAlchemy ends each printed clause line with a space.
    assert doctest.testmod(tenancy, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_a_tenant_sees_its_own_rows_and_the_platform_sees_all() -> None:
    query = select(Product.id)
    brand, operator, regulator = _org("enterprise"), _org("operator"), _org("regulator")
    assert "WHERE" in str(tenancy.mine(query, Product.organization_id, brand))
    assert "WHERE" not in str(tenancy.mine(query, Product.organization_id, operator))
    # A regulator reads every tenant's rows only where its remit says so.
    assert "WHERE" in str(tenancy.mine(query, Product.organization_id, regulator))
    narrowed = tenancy.mine(query, Product.organization_id, regulator, tenancy.OVERSIGHT)
    assert "WHERE" not in str(narrowed)
    assert tenancy.is_mine(7, brand)
    assert not tenancy.is_mine(8, brand)
    assert tenancy.is_mine(8, operator)
    assert not tenancy.is_mine(8, regulator)
    assert tenancy.is_mine(8, regulator, tenancy.OVERSIGHT)
