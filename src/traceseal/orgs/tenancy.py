"""Tenancy: which organisations' data a caller may see, written once.

Each tenant sees its own rows. The operator runs the platform and sees every tenant's; a
regulator oversees the market and reads every tenant's where its remit says so (the caller
of :func:`mine` passes ``OVERSIGHT`` there). Rows a caller may not see are filtered out of
queries, and a single row it may not see answers exactly as a missing one (NotFound), so
neither existence nor ownership leaks across tenants.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Select

from traceseal.orgs.models import Organization, Role

__all__ = ["OVERSIGHT", "PLATFORM", "is_mine", "mine", "sees_all"]

#: Sees every tenant's data: the operator only (writing, and reads outside a regulator's remit).
PLATFORM: Final = frozenset({Role.OPERATOR.value})
#: Reads every tenant's data: the operator and regulators.
OVERSIGHT: Final = frozenset({Role.OPERATOR.value, Role.REGULATOR.value})

Query = TypeVar("Query", bound=Select[Any])


def sees_all(viewer: Organization, everyone: frozenset[str] = PLATFORM) -> bool:
    return viewer.role in everyone


def mine(
    query: Query,
    owner: ColumnElement[Any] | Any,
    viewer: Organization,
    everyone: frozenset[str] = PLATFORM,
) -> Query:
    """``query`` narrowed to rows whose ``owner`` column is the viewer, unless it sees all.

    >>> from sqlalchemy import select
    >>> from traceseal.registry.models import Product
    >>> brand = Organization(id=7, name="Acme", role="enterprise")
    >>> print(mine(select(Product.id), Product.organization_id, brand))
    SELECT products.id
    FROM products
    WHERE products.organization_id = :organization_id_1
    """
    if sees_all(viewer, everyone):
        return query
    return query.where(owner == viewer.id)


def is_mine(owner_id: int, viewer: Organization, everyone: frozenset[str] = PLATFORM) -> bool:
    """Whether one row owned by ``owner_id`` is the viewer's to see."""
    return sees_all(viewer, everyone) or owner_id == viewer.id
