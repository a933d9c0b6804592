"""Diversion flows (窜货流向): where goods meant for a distributor's territory were scanned.

Read from ``diversion_flows`` (risk/models.DiversionFlow), which risk evaluation keeps as
scans arrive; never from the log. A flow is a distributor (its territory the expected
side) and a place (province and city, the observed side) with the scans seen there
outside the territory, and how many of them were trade checks. Services take a session
and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from traceseal.analytics.service import Filters, check_filters, check_viewer
from traceseal.logistics.models import Distributor, TerritoryRegion
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import OVERSIGHT, mine
from traceseal.registry.models import Batch
from traceseal.risk.models import DiversionFlow

__all__ = ["Flow", "flows", "scoped_flows"]

#: Flows answered at most, the largest first.
MAX_FLOWS = 200


@dataclass(frozen=True, slots=True)
class Flow:
    """Scans of one distributor's goods seen in one place outside its territory."""

    distributor_id: int
    distributor: str
    territory: tuple[str, ...]
    province: str
    city: str
    scans: int
    trade: int


def scoped_flows(query: Select[Any], viewer: Organization) -> Select[Any]:
    """``query`` over the flows narrowed to the viewer's: a brand its own goods', a
    distributor the flows of the goods meant for it, regulators and the operator all."""
    if viewer.role != Role.DISTRIBUTOR.value:
        return mine(query, DiversionFlow.organization_id, viewer, OVERSIGHT)
    own = select(Distributor.id).where(Distributor.organization_id == viewer.id)
    return query.where(DiversionFlow.distributor_id.in_(own))


def flows(
    session: Session, viewer: Organization, filters: Filters, *, limit: int = MAX_FLOWS
) -> list[Flow]:
    """The largest flows in the filters' days, by scans; a channel filter does not apply
    (flows are kept per place, not per channel)."""
    check_viewer(viewer)
    check_filters(filters)
    scans = func.sum(DiversionFlow.scans)
    columns: list[Any] = [
        DiversionFlow.distributor_id,
        DiversionFlow.province,
        DiversionFlow.city,
        scans,
        func.sum(DiversionFlow.trade),
    ]
    query = (
        select(*columns)
        .where(DiversionFlow.day >= filters.start, DiversionFlow.day <= filters.end)
        .group_by(DiversionFlow.distributor_id, DiversionFlow.province, DiversionFlow.city)
        .order_by(scans.desc(), DiversionFlow.distributor_id, DiversionFlow.city)
        .limit(limit)
    )
    if filters.batch_id is not None:
        query = query.where(DiversionFlow.batch_id == filters.batch_id)
    if filters.product_id is not None:
        batches = select(Batch.id).where(Batch.product_id == filters.product_id)
        query = query.where(DiversionFlow.batch_id.in_(batches))
    rows = session.execute(scoped_flows(query, viewer)).all()
    names, territories = _distributors(session, {int(row[0]) for row in rows})
    return [
        Flow(
            distributor_id=int(distributor),
            distributor=names.get(int(distributor), ""),
            territory=territories.get(int(distributor), ()),
            province=province,
            city=city,
            scans=int(count),
            trade=int(trade),
        )
        for distributor, province, city, count, trade in rows
    ]


def _distributors(
    session: Session, ids: set[int]
) -> tuple[dict[int, str], dict[int, tuple[str, ...]]]:
    """The names and territories (region codes, sorted) of the distributors ``ids``."""
    if not ids:
        return {}, {}
    names = dict(
        session.execute(
            select(Distributor.id, Organization.name)
            .join(Organization, Organization.id == Distributor.organization_id)
            .where(Distributor.id.in_(ids))
        ).all()
    )
    regions: dict[int, list[str]] = defaultdict(list)
    for distributor, region in session.execute(
        select(TerritoryRegion.distributor_id, TerritoryRegion.region)
        .where(TerritoryRegion.distributor_id.in_(ids))
        .order_by(TerritoryRegion.region)
    ):
        regions[int(distributor)].append(region)
    return names, {key: tuple(value) for key, value in regions.items()}
