"""Announcing and ending recalls. Verification of any code of a recalled batch says so.

Each announcement and each end is a record signed by whoever made it, and a log leaf
(docs/quality.md), stored in the caller's transaction with the recall itself.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from traceseal.errors import Conflict, Forbidden, InvalidInput, NotFound
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import OVERSIGHT, sees_all
from traceseal.quality.models import Kind
from traceseal.quality.service import Issuing, store
from traceseal.recalls.models import Recall
from traceseal.registry.gtin import normalize_gtin
from traceseal.registry.models import Batch, Product
from traceseal.registry.service import get_batch, get_product

#: Who may announce a recall: the brand owner, or a regulator (or the operator) for anyone.
_ANNOUNCERS = {Role.ENTERPRISE.value, Role.REGULATOR.value, Role.OPERATOR.value}


def _product(session: Session, caller: Organization, gtin: str) -> Product:
    return get_product(session, caller, gtin, OVERSIGHT)


def announce(
    session: Session,
    issuing: Issuing,
    caller: Organization,
    *,
    gtin: str,
    lots: list[str],
    reason: str,
    instructions: str,
    contact: str,
) -> list[Recall]:
    """Recall the named lots of a GTIN, or every batch of it when ``lots`` is empty."""
    now = issuing.now
    if caller.role not in _ANNOUNCERS:
        raise Forbidden(f"recalls are announced by brand owners and regulators, not {caller.role}")
    if not reason.strip() or not instructions.strip():
        raise InvalidInput("a recall needs a reason and instructions for consumers")
    product = _product(session, caller, gtin)
    batches: list[Batch | None] = [get_batch(session, product, lot) for lot in lots] or [None]
    recalls = []
    for batch in batches:
        batch_id = None if batch is None else batch.id
        active = session.scalar(
            select(Recall.id).where(
                Recall.product_id == product.id,
                Recall.batch_id.is_(None) if batch_id is None else Recall.batch_id == batch_id,
                Recall.ended_at.is_(None),
            )
        )
        if active is not None:
            what = "every batch" if batch is None else f"lot {batch.lot}"
            raise Conflict(f"{what} of GTIN {product.gtin} is already under recall {active}")
        recall = Recall(
            product_id=product.id,
            batch_id=batch_id,
            announced_by_id=caller.id,
            reason=reason.strip(),
            instructions=instructions.strip(),
            contact=contact.strip(),
            announced_at=now,
        )
        try:
            # The partial unique indexes decide between concurrent announcements.
            with session.begin_nested():
                session.add(recall)
        except IntegrityError:
            what = "every batch" if batch is None else f"lot {batch.lot}"
            raise Conflict(f"{what} of GTIN {product.gtin} is already under recall") from None
        payload = {
            "v": 1,
            "type": Kind.RECALL.value,
            "issuer": caller.id,
            "gtin": product.gtin,
            "lot": None if batch is None else batch.lot,
            "reason": recall.reason,
            "instructions": recall.instructions,
            "contact": recall.contact,
            "announced_at": now.isoformat(),
        }
        record = store(
            session,
            issuing,
            caller,
            Kind.RECALL,
            payload,
            None,
            enterprise_id=product.organization_id,
            product_id=product.id,
            batch_id=batch_id,
            issued_on=now.date(),
        )
        recall.record_id = record.id
        recalls.append(recall)
    session.flush()
    return recalls


def list_recalls(
    session: Session,
    *,
    gtin: str | None = None,
    active_only: bool = True,
    limit: int = 100,
    concerning: int | None = None,
    before: int | None = None,
) -> list[Recall]:
    """Recalls are public: anyone may list them. ``concerning``: only those of the
    organisation's products or announced by it (a brand's own list)."""
    query = select(Recall).join(Product, Product.id == Recall.product_id)
    if concerning is not None:
        query = query.where(
            or_(Product.organization_id == concerning, Recall.announced_by_id == concerning)
        )
    if before is not None:
        query = query.where(Recall.id < before)
    if gtin:
        query = query.where(Product.gtin == normalize_gtin(gtin))
    if active_only:
        query = query.where(Recall.ended_at.is_(None))
    return list(session.scalars(query.order_by(Recall.id.desc()).limit(limit)))


def end_recall(session: Session, issuing: Issuing, caller: Organization, recall_id: int) -> Recall:
    recall = session.get(Recall, recall_id)
    # Whoever announced a recall ends it (or a regulator or the operator): a brand owner
    # cannot lift a recall a regulator ordered.
    allowed = recall is not None and (
        sees_all(caller, OVERSIGHT) or caller.id == recall.announced_by_id
    )
    if recall is None or not allowed:
        raise NotFound(f"no recall {recall_id}")
    if recall.ended_at is None:
        recall.ended_at = issuing.now
        payload = {
            "v": 1,
            "type": Kind.RECALL_END.value,
            "issuer": caller.id,
            "recall": recall.record_id,
            "ended_at": issuing.now.isoformat(),
        }
        end = store(
            session,
            issuing,
            caller,
            Kind.RECALL_END,
            payload,
            None,
            enterprise_id=recall.product.organization_id,
            product_id=recall.product_id,
            batch_id=recall.batch_id,
            subject_id=recall.record_id,
            issued_on=issuing.now.date(),
        )
        recall.end_record_id = end.id
    return recall


def get_recall(session: Session, caller: Organization, recall_id: int) -> Recall:
    """A recall with what its reach shows, for the product's brand owner, its announcer,
    regulators and the operator; NotFound for anyone else (as for none at all)."""
    recall = session.get(Recall, recall_id)
    allowed = recall is not None and (
        sees_all(caller, OVERSIGHT)
        or caller.id in (recall.product.organization_id, recall.announced_by_id)
    )
    if recall is None or not allowed:
        raise NotFound(f"no recall {recall_id}")
    return recall
