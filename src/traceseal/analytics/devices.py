"""Distinct devices that queried a brand's codes: HyperLogLog sketches, folded per day.

Counting distinct devices exactly over a year would mean keeping every device of every
bucket; a HyperLogLog sketch keeps a few kilobytes at most and unions losslessly, so a
range's count is the union of its days' (or months') sketches and a device seen on many
days counts once. Apache DataSketches' HLL with lg_k 12 (4,096 registers) has a standard
error of about 1.6 %; small counts are exact in practice (its sparse mode keeps the
hashes themselves until it fills).

Folded with the sums (analytics/fold.py) from the scan log's keyed device hashes
(verify/channel.py: a device cookie, or an SMS or WeChat sender's pseudonym), read per
brand through ``ix_scans_organization_scanned_at``. Days not folded yet, or stale, are
counted from the log directly. Services take a connection or session and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import datasketches as ds
from sqlalchemy import select
from sqlalchemy.orm import Session

from traceseal.analytics.models import DeviceSketch
from traceseal.analytics.service import Filters, check_filters, check_viewer
from traceseal.analytics.sketches import LG_K, estimate, scan_devices, sketch_of
from traceseal.analytics.sums import Segment, plan
from traceseal.errors import Forbidden
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import OVERSIGHT, mine

__all__ = ["METHOD", "Devices", "count_devices"]

#: What the API says of its counts.
METHOD = (
    "HyperLogLog (Apache DataSketches, lg_k 12): about 1.6 % standard error; small counts are exact"
)


@dataclass(frozen=True, slots=True)
class Devices:
    """Estimated distinct devices over a range, and per province."""

    total: int
    provinces: dict[str, int]


def count_devices(
    session: Session, viewer: Organization, filters: Filters, *, province: str | None = None
) -> Devices:
    """Distinct devices in the filters' days (product and province filters apply; batch
    and channel are not kept in the sketches)."""
    check_viewer(viewer)
    check_filters(filters)
    if viewer.role == Role.DISTRIBUTOR.value:
        # Sketches are kept per province; a territory of cities cannot be cut from them.
        raise Forbidden("distinct devices are for brands, regulators and the operator")
    total = ds.hll_union(LG_K)
    provinces: dict[str, Any] = defaultdict(lambda: ds.hll_union(LG_K))
    columns = {"organization_id", "product_id", "province"}
    for segment in plan(session, filters.start, filters.end, columns, daily=False):
        for key, sketch in _segment(session, viewer, filters, segment, province):
            total.update(sketch)
            provinces[key].update(sketch)
    return Devices(
        total=estimate(total),
        provinces={key: estimate(union) for key, union in sorted(provinces.items())},
    )


def _segment(
    session: Session,
    viewer: Organization,
    filters: Filters,
    segment: Segment,
    province: str | None,
) -> Iterable[tuple[str, Any]]:
    """(province, sketch) pairs of one segment: stored sketches, or the log's devices for
    days not folded (or stale)."""
    if segment.span is None:
        first = segment.first or min(segment.days)
        last = segment.last or max(segment.days)
        owners = None if viewer.role in OVERSIGHT else [viewer.id]
        wanted = set(segment.days)
        for (day, _, product, where), sketch in scan_devices(
            session.connection(), first, last, owners
        ).items():
            if wanted and day not in wanted:
                continue
            if filters.product_id is not None and product != filters.product_id:
                continue
            if province is None or where == province:
                yield where, sketch
        return
    columns: list[Any] = [DeviceSketch.province, DeviceSketch.sketch]
    query = select(*columns)
    query = Segment(DeviceSketch, segment.span, segment.first, segment.last, segment.days).where(
        query
    )
    query = mine(query, DeviceSketch.organization_id, viewer, OVERSIGHT)
    if filters.product_id is not None:
        query = query.where(DeviceSketch.product_id == filters.product_id)
    if province is not None:
        query = query.where(DeviceSketch.province == province)
    for where, blob in session.execute(query):
        yield where, sketch_of(blob)
