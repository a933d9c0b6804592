"""What the public directory lists: quality facts the platform has published.

A fact is published once its signed record is a leaf under the latest checkpoint: before
that, nobody could check it against the log, so the directory does not show it yet.
Certificates are listed while in force (not suspended, withdrawn or past their date);
sampling results whatever their outcome, as regulators publish both; recalls while they
last; label programme holders as the products with codes issued under a programme.
Nothing here reads consumers' data: no scans, no reports, no devices.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from traceseal.codes.models import CodeRun
from traceseal.errors import InvalidInput, NotFound
from traceseal.ledger import checkpoints
from traceseal.orgs.models import Organization
from traceseal.quality.models import CertificateStatus, Kind, Programme, QualityRecord, QualityScope
from traceseal.recalls.models import Recall
from traceseal.registry.gtin import normalize_gtin
from traceseal.registry.models import Product

PAGE_SIZE = 20


class Section(enum.StrEnum):
    CERTIFICATES = "certificates"
    SAMPLING = "sampling"
    RECALLS = "recalls"
    PROGRAMMES = "programmes"


@dataclass(frozen=True)
class Listing:
    """One page of a section, newest first; ``older`` is the next page's ``before``."""

    rows: list[Any]
    older: int | None


def published_size(session: Session) -> int:
    latest = checkpoints.latest(session)
    return 0 if latest is None else latest.size


def _published(size: int) -> Any:
    return and_(QualityRecord.leaf_index.is_not(None), QualityRecord.leaf_index < size)


def _products(query: str) -> Any:
    """Products whose name or brand holds ``query``, or whose GTIN it is."""
    like = f"%{query}%"
    matches: list[ColumnElement[bool]] = [Product.name.like(like), Product.brand.like(like)]
    with contextlib.suppress(InvalidInput):
        matches.append(Product.gtin == normalize_gtin(query))
    return or_(*matches)


def _page(rows: list[Any], key: Any) -> Listing:
    older = key(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else None
    return Listing(rows[:PAGE_SIZE], older)


def certificates(session: Session, *, query: str, before: int | None, today: date) -> Listing:
    statement = select(QualityRecord).where(
        QualityRecord.kind == Kind.CERTIFICATE.value,
        QualityRecord.status == CertificateStatus.VALID.value,
        or_(QualityRecord.valid_until.is_(None), QualityRecord.valid_until >= today),
        _published(published_size(session)),
    )
    if query:
        covering = select(QualityScope.record_id).join(
            Product,
            or_(
                Product.id == QualityScope.product_id,
                and_(
                    QualityScope.product_id.is_(None),
                    Product.organization_id == QualityScope.enterprise_id,
                    Product.category == QualityScope.category,
                ),
            ),
        )
        holders = select(Organization.id).where(Organization.name.like(f"%{query}%"))
        statement = statement.where(
            or_(
                QualityRecord.id.in_(covering.where(_products(query))),
                QualityRecord.enterprise_id.in_(holders),
                QualityRecord.number == query,
            )
        )
    if before:
        statement = statement.where(QualityRecord.id < before)
    rows = list(session.scalars(statement.order_by(QualityRecord.id.desc()).limit(PAGE_SIZE + 1)))
    return _page(rows, lambda r: r.id)


def sampling(session: Session, *, query: str, before: int | None) -> Listing:
    statement = select(QualityRecord).where(
        QualityRecord.kind == Kind.SAMPLING.value, _published(published_size(session))
    )
    if query:
        statement = statement.where(
            QualityRecord.product_id.in_(select(Product.id).where(_products(query)))
        )
    if before:
        statement = statement.where(QualityRecord.id < before)
    rows = list(session.scalars(statement.order_by(QualityRecord.id.desc()).limit(PAGE_SIZE + 1)))
    return _page(rows, lambda r: r.id)


def recalls(session: Session, *, query: str, before: int | None) -> Listing:
    statement = (
        select(Recall)
        .join(QualityRecord, QualityRecord.id == Recall.record_id)
        .where(Recall.ended_at.is_(None), _published(published_size(session)))
    )
    if query:
        statement = statement.where(
            Recall.product_id.in_(select(Product.id).where(_products(query)))
        )
    if before:
        statement = statement.where(Recall.id < before)
    rows = list(session.scalars(statement.order_by(Recall.id.desc()).limit(PAGE_SIZE + 1)))
    return _page(rows, lambda r: r.id)


@dataclass(frozen=True)
class Holder:
    """A product that carries a programme's label: codes were issued for it under it."""

    key: int
    programme: Programme
    product: Product


def holders(session: Session, *, query: str, before: int | None) -> Listing:
    """Programme and product pairs, newest programme first (the key: the pair's newest run)."""
    newest = func.max(CodeRun.id).label("newest")
    statement = (
        select(CodeRun.programme_id, CodeRun.product_id, newest)
        .join(Programme, Programme.id == CodeRun.programme_id)
        .join(QualityRecord, QualityRecord.id == Programme.record_id)
        .where(CodeRun.programme_id.is_not(None), CodeRun.product_id.is_not(None))
        .where(_published(published_size(session)))
        .group_by(CodeRun.programme_id, CodeRun.product_id)
    )
    if query:
        statement = statement.where(
            CodeRun.product_id.in_(select(Product.id).where(_products(query)))
        )
    if before:
        statement = statement.having(newest < before)
    found = list(session.execute(statement.order_by(newest.desc()).limit(PAGE_SIZE + 1)))
    rows = []
    for programme_id, product_id, key in found:
        programme = session.get(Programme, programme_id)
        product = session.get(Product, product_id)
        assert programme is not None
        assert product is not None
        rows.append(Holder(int(key), programme, product))
    return _page(rows, lambda h: h.key)


def record(session: Session, record_id: int) -> QualityRecord:
    """A published record, for its public page; NotFound before it is under a checkpoint."""
    found = session.get(QualityRecord, record_id)
    size = published_size(session)
    if found is None or found.leaf_index is None or found.leaf_index >= size:
        raise NotFound(f"no published record {record_id}")
    return found


@dataclass(frozen=True)
class Covered:
    """What a certificate covers, as shown: a product (name, GTIN) or a whole category."""

    product: str = ""
    gtin: str = ""
    category: str = ""


def covered(session: Session, record_ids: list[int]) -> dict[int, list[Covered]]:
    """Each certificate's scope, in one query for the page."""
    found: dict[int, list[Covered]] = {record_id: [] for record_id in record_ids}
    if not record_ids:
        return found
    rows = session.execute(
        select(QualityScope.record_id, Product.name, Product.gtin, QualityScope.category)
        .outerjoin(Product, Product.id == QualityScope.product_id)
        .where(QualityScope.record_id.in_(record_ids))
        .order_by(QualityScope.id)
    )
    for record_id, name, gtin, category in rows:
        found[record_id].append(Covered(name or "", gtin or "", category or ""))
    return found
