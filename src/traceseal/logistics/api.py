"""``/api/v1/distributors``: an enterprise's distributors, territories and assignments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from traceseal.codes.deps import KeyringDep
from traceseal.codes.service import get_run, parse_range
from traceseal.errors import NotFound
from traceseal.geo.regions import table
from traceseal.logistics import service
from traceseal.logistics.models import Distributor
from traceseal.logistics.schemas import (
    AssignmentCreate,
    DistributorCreate,
    DistributorRead,
    LocationsUpdate,
    RegionRead,
    TerritoryUpdate,
)
from traceseal.orgs.deps import Caller, require
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.service import find_organization
from traceseal.registry.service import get_batch, get_product
from traceseal.web.deps import PathId, SessionDep

router = APIRouter(prefix="/api/v1", tags=["logistics"])


def _managed(session: SessionDep, caller: Organization, distributor_id: PathId) -> Distributor:
    """A distributor the caller may change: its enterprise's, or any for the operator."""
    distributor = service.get_distributor(session, caller, distributor_id)
    if caller.role != Role.OPERATOR.value and caller.id != distributor.enterprise_id:
        raise NotFound(f"no distributor {distributor_id}", field="distributor")
    return distributor


def _read(session: SessionDep, distributor: Distributor, key: str | None = None) -> object:
    return DistributorRead(**service.distributor_facts(session, distributor), api_key=key)


@router.post("/distributors", status_code=status.HTTP_201_CREATED, response_model=DistributorRead)
def register(body: DistributorCreate, caller: Caller, session: SessionDep) -> object:
    """Register a distributor (creating its organisation if new) with GLNs and a territory."""
    if caller.role == Role.OPERATOR.value and body.organization_id is not None:
        enterprise = find_organization(session, body.organization_id)
    else:
        require(caller, Role.ENTERPRISE)
        enterprise = caller
    distributor, key = service.register_distributor(
        session, enterprise, body.name, glns=body.glns, territory=body.territory
    )
    return _read(session, distributor, key)


@router.get("/distributors", response_model=list[DistributorRead])
def list_distributors(caller: Caller, session: SessionDep) -> object:
    return [_read(session, d) for d in service.list_distributors(session, caller)]


@router.get("/distributors/{distributor_id}", response_model=DistributorRead)
def read(distributor_id: PathId, caller: Caller, session: SessionDep) -> object:
    return _read(session, service.get_distributor(session, caller, distributor_id))


@router.put("/distributors/{distributor_id}/territory", response_model=DistributorRead)
def set_territory(
    distributor_id: PathId, body: TerritoryUpdate, caller: Caller, session: SessionDep
) -> object:
    """Replace the territory. Scans already judged keep their alerts."""
    distributor = _managed(session, caller, distributor_id)
    service.set_territory(session, distributor, body.regions)
    return _read(session, distributor)


@router.put("/distributors/{distributor_id}/locations", response_model=DistributorRead)
def set_locations(
    distributor_id: PathId, body: LocationsUpdate, caller: Caller, session: SessionDep
) -> object:
    distributor = _managed(session, caller, distributor_id)
    service.set_locations(session, distributor, body.glns)
    return _read(session, distributor)


@router.post(
    "/distributors/{distributor_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=DistributorRead,
)
def assign(
    distributor_id: PathId,
    body: AssignmentCreate,
    caller: Caller,
    session: SessionDep,
    keyring: KeyringDep,
) -> object:
    """Give the distributor part of a code run or a whole batch, without per-item events."""
    distributor = _managed(session, caller, distributor_id)
    enterprise = find_organization(session, distributor.enterprise_id)
    if body.run is not None:
        run = get_run(session, enterprise, body.run)
        start, stop = parse_range(session, keyring, run, body.range)
        service.assign_range(session, distributor, run, start, stop)
    else:
        assert body.gtin is not None
        assert body.lot is not None
        batch = get_batch(session, get_product(session, enterprise, body.gtin), body.lot)
        service.assign_batch(session, distributor, batch)
    return _read(session, distributor)


@router.get("/regions", response_model=list[RegionRead])
def regions(
    parent: Annotated[str | None, Query(max_length=6, pattern="^[0-9]{6}$")] = None,
) -> list[RegionRead]:
    """GB/T 2260 divisions: the provinces, or the divisions directly under ``parent``."""
    names = table()
    found = [r for r in names.by_code.values() if r.parent == parent]
    return [
        RegionRead(
            code=r.code, name=names.label(r.code, "zh-CN"), name_en=names.label(r.code, "en")
        )
        for r in sorted(found, key=lambda r: r.code)
    ]
