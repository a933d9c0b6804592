"""Pages of quality records for the consoles: newest first, ``before`` an id.

The API lists records oldest first after an id (a feed to follow); a person reads the
latest first and pages back, so the consoles use these. Records are public facts
(docs/quality.md): narrowing by issuer is what a lab's own pages want, not a secret.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traceseal.people.service import Page
from traceseal.quality.models import Kind, QualityRecord, SigningKey

PAGE_SIZE = 50


def records(
    session: Session,
    kinds: tuple[Kind, ...],
    *,
    issuer: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[QualityRecord]:
    """Records of ``kinds`` (by ``issuer``, if given), newest first."""
    query = (
        select(QualityRecord)
        .where(QualityRecord.kind.in_([k.value for k in kinds]))
        .order_by(QualityRecord.id.desc())
        .limit(limit + 1)
    )
    if issuer is not None:
        query = query.where(QualityRecord.issuer_id == issuer)
    if before:
        query = query.where(QualityRecord.id < before)
    rows = list(session.scalars(query))
    older = rows[limit - 1].id if len(rows) > limit else None
    return Page(rows[:limit], older)


def issued_record(
    session: Session, issuer: int, record_id: int, kind: Kind
) -> QualityRecord | None:
    """One record of ``kind`` that ``issuer`` signed; None for another's, as for none."""
    record = session.get(QualityRecord, record_id)
    if record is None or record.kind != kind.value or record.issuer_id != issuer:
        return None
    return record


def counts_by_kind(session: Session, issuer: int) -> dict[str, int]:
    query = (
        select(QualityRecord.kind, func.count())
        .where(QualityRecord.issuer_id == issuer)
        .group_by(QualityRecord.kind)
    )
    return {row[0]: row[1] for row in session.execute(query)}


def key_of(session: Session, key_id: int) -> SigningKey | None:
    return session.get(SigningKey, key_id)
