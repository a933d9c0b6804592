from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from traceseal.errors import NotFound
from traceseal.orgs.deps import Caller, require
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import find_organization
from traceseal.registry import service
from traceseal.registry.schemas import (
    BatchCreate,
    BatchRead,
    ProductCreate,
    ProductRead,
    ProductUpdate,
)
from traceseal.web.deps import AfterId, SessionDep

router = APIRouter(prefix="/api/v1/products", tags=["registry"])


def owner_for(
    session: SessionDep, caller: Organization, organization_id: int | None
) -> Organization:
    """The enterprise a write is for: the caller itself, or (operator only) the one named."""
    if caller.role == Role.OPERATOR.value and organization_id is not None:
        return find_organization(session, organization_id)
    require(caller, Role.ENTERPRISE)
    if organization_id not in (None, caller.id):
        raise NotFound(f"no organisation {organization_id}", field="organization_id")
    return caller


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductRead)
def create_product(body: ProductCreate, caller: Caller, session: SessionDep) -> object:
    return service.add_product(session, owner_for(session, caller, body.organization_id), body)


@router.get("", response_model=list[ProductRead])
def list_products(
    caller: Caller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: AfterId = 0,
) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    return service.list_products(session, caller, limit=limit, after_id=after_id)


@router.get("/{gtin}", response_model=ProductRead)
def read_product(gtin: str, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    return service.get_product(session, caller, gtin)


@router.patch("/{gtin}", response_model=ProductRead)
def update_product(gtin: str, body: ProductUpdate, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    return service.update_product(session, service.get_product(session, caller, gtin), body)


@router.post("/{gtin}/batches", status_code=status.HTTP_201_CREATED, response_model=BatchRead)
def create_batch(gtin: str, body: BatchCreate, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    product = service.get_product(session, caller, gtin)
    return service.batch_read(service.add_batch(session, product, body))


@router.get("/{gtin}/batches", response_model=list[BatchRead])
def list_batches(gtin: str, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    product = service.get_product(session, caller, gtin)
    return [service.batch_read(b) for b in service.list_batches(session, product)]


@router.get("/{gtin}/batches/{lot}", response_model=BatchRead)
def read_batch(gtin: str, lot: str, caller: Caller, session: SessionDep) -> object:
    require(caller, Role.ENTERPRISE, Role.OPERATOR)
    product = service.get_product(session, caller, gtin)
    return service.batch_read(service.get_batch(session, product, lot))
