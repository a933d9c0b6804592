"""Made-up and mistyped codes per client network (verify/networks.py keeps the counts):
the networks whose answers are most often failures, against the platform's own rates.

For the operator only: failures carry no brand (a mistyped code names none; a made-up
code in no brand's slot names none either), and a network, even hashed, is about the
people behind it rather than about any brand's products.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceseal.errors import Forbidden
from traceseal.orgs.models import Organization, Role
from traceseal.verify.networks import NetworkDay

__all__ = ["NetworkFigures", "failing_networks"]


@dataclass(frozen=True, slots=True)
class NetworkFigures:
    """A network's answers over a range of days (``network``: the first 12 hex digits of
    its keyed hash; "" for the platform's total)."""

    network: str
    region: str
    answers: int
    not_found: int
    mistyped: int

    @property
    def failure_rate(self) -> float:
        return (self.not_found + self.mistyped) / self.answers if self.answers else 0.0


def failing_networks(
    session: Session,
    viewer: Organization,
    *,
    start: date,
    end: date,
    min_answers: int,
    limit: int,
) -> tuple[NetworkFigures, list[NetworkFigures]]:
    """The platform's totals, and the networks with ``min_answers`` or more answers in the
    range, the highest share of failures first (then the most answers)."""
    if viewer.role != Role.OPERATOR.value:
        raise Forbidden("answers per client network are for the platform operator")
    answers, not_found, mistyped = (
        func.sum(NetworkDay.answers),
        func.sum(NetworkDay.not_found),
        func.sum(NetworkDay.mistyped),
    )
    in_range = (NetworkDay.day >= start, NetworkDay.day <= end)
    total = session.execute(select(answers, not_found, mistyped).where(*in_range)).one()
    overall = NetworkFigures("", "", int(total[0] or 0), int(total[1] or 0), int(total[2] or 0))
    rows = session.execute(
        select(NetworkDay.network, func.max(NetworkDay.region), answers, not_found, mistyped)
        .where(*in_range)
        .group_by(NetworkDay.network)
        .having(answers >= min_answers)
        .order_by(((not_found + mistyped) * 1.0 / answers).desc(), answers.desc())
        .limit(limit)
    ).all()
    found = [
        NetworkFigures(network[:12], region or "", int(n), int(nf), int(mt))
        for network, region, n, nf, mt in rows
    ]
    return overall, found
