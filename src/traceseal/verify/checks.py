"""Trade checks: the authenticated verifications shops, distributors and brands make.

A trade check is logged like any scan, with the checking organisation (``scans.trade_org_id``),
but never counts as a consumer's query (verify.service.count_query). Brands read them here:
which of their codes were checked, when, where and by whom. Who may read what:

- a brand reads the checks of its own codes; the checker is named when it is the brand itself
  or a distributor the brand registered, and otherwise only marked as not its partner (an
  outsider's name is not the brand's to learn from a scan);
- a distributor (or any checker) reads the checks it made itself;
- the operator and regulators read every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from traceseal.logistics.models import Distributor
from traceseal.orgs.models import Organization
from traceseal.orgs.tenancy import OVERSIGHT, sees_all
from traceseal.verify.models import Scan

__all__ = ["TradeCheck", "trade_checks"]


@dataclass(frozen=True, slots=True)
class TradeCheck:
    id: int
    code: str
    checked_at: datetime
    verdict: str
    region: str | None
    #: The checker's name, when the viewer may know it (None: not the brand's partner).
    checker: str | None
    #: The checker is the code's brand or a distributor the brand registered, so its check
    #: counts as evidence of where the goods are (diversion); others' checks do not.
    partner: bool


def trade_checks(
    session: Session,
    viewer: Organization,
    *,
    code: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[TradeCheck]:
    """The viewer's trade checks, newest first; ``after_id`` pages back from an older id."""
    checker = aliased(Organization)
    partner = or_(
        Scan.trade_org_id == Scan.organization_id,
        exists().where(
            Distributor.enterprise_id == Scan.organization_id,
            Distributor.organization_id == Scan.trade_org_id,
        ),
    )
    query = (
        select(
            Scan.id,
            Scan.code,
            Scan.scanned_at,
            Scan.verdict,
            Scan.region,
            Scan.trade_org_id,
            checker.name,
            partner.label("partner"),
        )
        .join(checker, checker.id == Scan.trade_org_id)
        .where(Scan.trade_org_id.is_not(None))
        .order_by(Scan.id.desc())
        .limit(limit)
    )
    if not sees_all(viewer, OVERSIGHT):
        query = query.where(or_(Scan.organization_id == viewer.id, Scan.trade_org_id == viewer.id))
    if code is not None:
        query = query.where(Scan.code == code)
    if after_id:
        query = query.where(Scan.id < after_id)
    return [
        TradeCheck(
            id=row.id,
            code=row.code,
            checked_at=row.scanned_at,
            verdict=row.verdict,
            region=row.region,
            # A checker always knows its own name; oversight and partners' brands see it.
            checker=(
                row.name
                if row.partner or row.trade_org_id == viewer.id or sees_all(viewer, OVERSIGHT)
                else None
            ),
            partner=bool(row.partner),
        )
        for row in session.execute(query)
    ]
