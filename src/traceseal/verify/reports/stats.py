"""Counterfeit reports counted for oversight: by brand, product, province and code state.

Only counts leave here: no report's text, contact, photo or hashes, so a regulator's
statistics carry nothing that could name a reporter. Reports store no place but what the
reporter typed as where they bought the item; the province is the first province-level
division named there (``浙江省杭州市…`` → 浙江省), else "unknown".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceseal.geo.regions import Region, table
from traceseal.orgs.models import Organization
from traceseal.registry.models import Product
from traceseal.verify.reports.models import CounterfeitReport
from traceseal.verify.reports.service import _require_reader, _visible

#: Province-level name suffixes, longest first, dropped to match "浙江" as well as "浙江省".
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


@dataclass(frozen=True)
class ReportCount:
    brand: str
    product: str
    gtin: str
    #: GB/T 2260 code of the province named in "where bought"; "" when none is.
    province: str
    state: str
    reports: int


@cache
def _provinces() -> list[tuple[str, Region]]:
    found = []
    for region in table().by_code.values():
        if region.level != 1:
            continue
        short = region.name_zh
        for suffix in _SUFFIXES:
            if short.endswith(suffix) and len(short) > len(suffix) + 1:
                short = short[: -len(suffix)]
                break
        found.append((short, region))
    # Longer names first: 内蒙古 before any shorter name it might contain.
    found.sort(key=lambda pair: -len(pair[0]))
    return found


def province_of(where_bought: str) -> str:
    """The code of the first province named in ``where_bought``, else ''.

    >>> province_of("浙江省杭州市西湖区某五金店")
    '330000'
    """
    text = re.sub(r"\s+", "", where_bought)
    best: tuple[int, str] | None = None
    for short, region in _provinces():
        at = text.find(short)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, region.code)
    return "" if best is None else best[1]


def report_counts(session: Session, viewer: Organization) -> list[ReportCount]:
    """Reports the viewer may read, counted by brand, product, province and code state,
    most reported first (regulators and the operator see every brand's)."""
    _require_reader(viewer)
    visible = _visible(viewer).subquery()
    query = (
        select(
            Organization.name,
            Product.name,
            Product.gtin,
            visible.c.code_status,
            visible.c.where_bought,
            func.count(),
        )
        .select_from(visible)
        .outerjoin(Organization, Organization.id == visible.c.organization_id)
        .outerjoin(Product, Product.id == visible.c.product_id)
        .group_by(
            Organization.name,
            Product.name,
            Product.gtin,
            visible.c.code_status,
            visible.c.where_bought,
        )
    )
    counted: Counter[tuple[str, str, str, str, str]] = Counter()
    for brand, product, gtin, state, where, count in session.execute(query):
        key = (brand or "", product or "", gtin or "", province_of(where or ""), state)
        counted[key] += count
    rows = [ReportCount(*key, reports=count) for key, count in counted.items()]
    rows.sort(key=lambda r: (-r.reports, r.brand, r.product, r.province, r.state))
    return rows


__all__ = ["CounterfeitReport", "ReportCount", "province_of", "report_counts"]
