"""The quality facts a verification shows, read on the verification hot path.

One statement finds every record about a code's product: its inspection reports and
sampling results by ``(product_id, kind)``, its enterprise's rating and commitments by
``(enterprise_id, kind)``, and the certificates whose scope names the product or its
category, each branch an index probe; a product without records costs those probes and
nothing else. It is compiled once and run on the DBAPI cursor like the rest of
verification (db.Prepared). The programme comes with the code's run, in verification's own
context query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select

from traceseal.db import Prepared, py_date
from traceseal.orgs.models import Organization
from traceseal.quality.models import CertificateStatus, Kind, QualityRecord, QualityScope

#: The most records of one product the page considers, newest first.
MAX_RECORDS = 200
MAX_SAMPLING = 5
MAX_COMMITMENTS = 5


@dataclass(frozen=True, slots=True)
class Fact:
    """One signed record as the consumer sees it."""

    kind: str
    record: int
    #: Certificate scheme, credit grade or commitment title; "" where none.
    scheme: str
    #: Certificate or report number, sampling campaign.
    number: str
    #: Status on the day asked: valid, expired, suspended, withdrawn; pass or fail; a grade.
    status: str
    on: date | None
    valid_until: date | None
    signed_by: str
    leaf_index: int | None

    @property
    def warning(self) -> bool:
        return self.status in {"expired", "suspended", "withdrawn", "fail"}


@dataclass(frozen=True, slots=True)
class ProgrammeFact:
    id: int
    name: str
    name_en: str


@dataclass(frozen=True, slots=True)
class QualityFacts:
    certificates: tuple[Fact, ...] = ()
    inspection: Fact | None = None
    sampling: tuple[Fact, ...] = ()
    credit: Fact | None = None
    commitments: tuple[Fact, ...] = ()
    programme: ProgrammeFact | None = None

    @property
    def warnings(self) -> tuple[Fact, ...]:
        candidates = [*self.certificates, self.inspection, *self.sampling, self.credit]
        return tuple(f for f in candidates if f is not None and f.warning)

    def __bool__(self) -> bool:
        return bool(
            self.certificates
            or self.inspection
            or self.sampling
            or self.credit
            or self.commitments
            or self.programme
        )


_R = QualityRecord
_SCOPED = select(QualityScope.record_id).where(
    or_(
        QualityScope.product_id == bindparam("product"),
        and_(
            QualityScope.enterprise_id == bindparam("owner"),
            QualityScope.category == bindparam("category"),
        ),
    )
)
FACTS = Prepared(
    select(
        _R.id,
        _R.kind,
        _R.scheme,
        _R.number,
        _R.outcome,
        _R.status,
        _R.issued_on,
        _R.valid_until,
        _R.batch_id,
        _R.leaf_index,
        Organization.name,
    )
    .join(Organization, Organization.id == _R.issuer_id)
    .where(
        or_(
            and_(
                _R.product_id == bindparam("product"),
                or_(_R.kind == Kind.INSPECTION.value, _R.kind == Kind.SAMPLING.value),
            ),
            and_(
                _R.enterprise_id == bindparam("owner"),
                or_(_R.kind == Kind.CREDIT.value, _R.kind == Kind.COMMITMENT.value),
            ),
            _R.id.in_(_SCOPED),
        )
    )
    .order_by(_R.issued_on.desc(), _R.id.desc())
    .limit(MAX_RECORDS)
)


def _status(kind: str, outcome: str, status: str, until: date | None, today: date) -> str:
    expired = until is not None and until < today
    if kind == Kind.CERTIFICATE.value:
        return CertificateStatus.EXPIRED.value if status == "valid" and expired else status
    if kind == Kind.CREDIT.value:
        return "expired" if expired else outcome
    return outcome


def ask(connection: Connection, *, product_id: int, owner_id: int, category: str) -> None:
    """Send the read of :func:`quality_facts` ahead (db.Prepared.send)."""
    FACTS.send(connection, _asked(product_id, owner_id, category))


def _asked(product_id: int, owner_id: int, category: str) -> dict[str, Any]:
    return {"product": product_id, "owner": owner_id, "category": category or None}


def quality_facts(
    connection: Connection,
    *,
    product_id: int,
    owner_id: int,
    category: str,
    batch_id: int | None,
    programme: ProgrammeFact | None,
    today: date,
) -> QualityFacts:
    rows = FACTS.run(connection, _asked(product_id, owner_id, category)).fetchall()
    certificates: list[Fact] = []
    inspections: list[Fact] = []
    sampling: list[Fact] = []
    credits: list[Fact] = []
    commitments: list[Fact] = []
    lists: dict[str, list[Fact]] = {
        Kind.CERTIFICATE.value: certificates,
        Kind.INSPECTION.value: inspections,
        Kind.SAMPLING.value: sampling,
        Kind.CREDIT.value: credits,
        Kind.COMMITMENT.value: commitments,
    }
    for row in rows:
        record, kind, scheme, number, outcome, status, on, until, batch, leaf, issuer = row
        if batch is not None and batch != batch_id:
            continue  # about another lot of the product
        until = py_date(until)
        fact = Fact(
            kind=kind,
            record=record,
            scheme=scheme,
            number=number,
            status=_status(kind, outcome, status, until, today),
            on=py_date(on),
            valid_until=until,
            signed_by=issuer,
            leaf_index=leaf,
        )
        lists[kind].append(fact)
    # The newest rating in force; failing that, the newest lapsed one, shown as a warning.
    credit = next((c for c in credits if c.status != "expired"), credits[0] if credits else None)
    return QualityFacts(
        certificates=tuple(certificates),
        inspection=inspections[0] if inspections else None,
        sampling=tuple(sampling[:MAX_SAMPLING]),
        credit=credit,
        commitments=tuple(commitments[:MAX_COMMITMENTS]),
        programme=programme,
    )


def programme_fact(row: Any) -> ProgrammeFact | None:
    """``(id, name, name_en)`` from the verification context, or None."""
    programme_id, name, name_en = row
    return None if programme_id is None else ProgrammeFact(programme_id, name, name_en)
