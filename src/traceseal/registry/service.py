"""Products and batches, always looked up within the caller's organisation."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from traceseal.errors import Conflict, InvalidInput, NotFound
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.tenancy import PLATFORM, mine
from traceseal.registry.gtin import check_lot, normalize_gtin
from traceseal.registry.models import Batch, Product
from traceseal.registry.schemas import BatchCreate, ProductCreate, ProductUpdate


def _require_enterprise(org: Organization) -> None:
    if org.role != Role.ENTERPRISE.value:
        raise InvalidInput(
            f"products belong to enterprises; {org.name!r} is a {org.role}", field="org"
        )


def add_product(session: Session, owner: Organization, data: ProductCreate) -> Product:
    _require_enterprise(owner)
    gtin = normalize_gtin(data.gtin)
    if session.scalar(select(Product.id).where(Product.gtin == gtin)) is not None:
        # GTINs are public (they are printed on the pack), so saying this one is taken
        # discloses nothing a shop shelf does not.
        raise Conflict(f"GTIN {gtin} is already registered", field="gtin")
    fields = data.model_dump(exclude={"gtin", "organization_id"})
    product = Product(organization_id=owner.id, gtin=gtin, **fields)
    session.add(product)
    session.flush()
    return product


def get_product(
    session: Session, viewer: Organization, gtin: str, everyone: frozenset[str] = PLATFORM
) -> Product:
    """The product with this GTIN if ``viewer`` may see it, else :class:`NotFound`.

    ``everyone``: the roles that see every tenant's products here (tenancy.OVERSIGHT where
    a regulator acts on any brand's product, as in a recall)."""
    try:
        normalized = normalize_gtin(gtin)
    except InvalidInput:
        raise NotFound(f"no product with GTIN {gtin!r}", field="gtin") from None
    query = select(Product).where(Product.gtin == normalized)
    product = session.scalar(mine(query, Product.organization_id, viewer, everyone))
    if product is None:
        raise NotFound(f"no product with GTIN {normalized}", field="gtin")
    return product


def list_products(
    session: Session, viewer: Organization, *, limit: int = 100, after_id: int = 0
) -> list[Product]:
    query = select(Product).where(Product.id > after_id).order_by(Product.id).limit(limit)
    return list(session.scalars(mine(query, Product.organization_id, viewer)))


def find_products(
    session: Session,
    viewer: Organization,
    *,
    query: str = "",
    before: int | None = None,
    limit: int = 25,
) -> tuple[list[Product], int | None]:
    """The viewer's products newest first, whose GTIN or name contains ``query``, and the
    ``before`` of the next page (None on the last one)."""
    statement = select(Product).order_by(Product.id.desc()).limit(limit + 1)
    if before:
        statement = statement.where(Product.id < before)
    text = query.strip()
    if text:
        like = f"%{text}%"
        statement = statement.where(
            or_(Product.gtin.like(like), Product.name.ilike(like), Product.brand.ilike(like))
        )
    rows = list(session.scalars(mine(statement, Product.organization_id, viewer)))
    older = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], older


def count_batches(session: Session, product_ids: list[int]) -> dict[int, int]:
    """Batches per product, for a page of products (one grouped query)."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Batch.product_id, func.count())
        .where(Batch.product_id.in_(product_ids))
        .group_by(Batch.product_id)
    )
    return {int(product_id): int(count) for product_id, count in rows}


def update_product(session: Session, product: Product, data: ProductUpdate) -> Product:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{name} must not be null", field=name)
        setattr(product, name, value)
    session.flush()
    return product


def add_batch(session: Session, product: Product, data: BatchCreate) -> Batch:
    check_lot(data.lot)
    existing = session.scalar(
        select(Batch.id).where(Batch.product_id == product.id, Batch.lot == data.lot)
    )
    if existing is not None:
        raise Conflict(f"lot {data.lot!r} already exists for GTIN {product.gtin}", field="lot")
    batch = Batch(product_id=product.id, **data.model_dump())
    session.add(batch)
    session.flush()
    return batch


def get_batch(session: Session, product: Product, lot: str) -> Batch:
    batch = session.scalar(select(Batch).where(Batch.product_id == product.id, Batch.lot == lot))
    if batch is None:
        raise NotFound(f"no lot {lot!r} for GTIN {product.gtin}", field="lot")
    return batch


def list_batches(session: Session, product: Product) -> list[Batch]:
    return list(session.scalars(select(Batch).where(Batch.product_id == product.id)))


def batch_read(batch: Batch) -> dict[str, object]:
    """Fields of :class:`~traceseal.registry.schemas.BatchRead` (which names the GTIN)."""
    return {
        "id": batch.id,
        "gtin": batch.product.gtin,
        "lot": batch.lot,
        "production_date": batch.production_date,
        "expiry_date": batch.expiry_date,
        "quantity": batch.quantity,
        "created_at": batch.created_at,
    }
