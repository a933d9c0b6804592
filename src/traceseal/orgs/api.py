from __future__ import annotations

from fastapi import APIRouter, status

from traceseal.orgs import service
from traceseal.orgs.deps import Caller, require
from traceseal.orgs.models import Role
from traceseal.orgs.schemas import (
    ApiKeyCreated,
    OrganizationCreate,
    OrganizationCreated,
    OrganizationRead,
)
from traceseal.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/orgs", tags=["organisations"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganizationCreated)
def create_org(body: OrganizationCreate, caller: Caller, session: SessionDep) -> dict[str, object]:
    """Onboard an organisation (operator only). The API key is in this response only."""
    require(caller, Role.OPERATOR)
    org, key = service.create_organization(session, body.name, body.role)
    return {**OrganizationRead.model_validate(org).model_dump(), "api_key": key}


@router.get("", response_model=list[OrganizationRead])
def list_orgs(caller: Caller, session: SessionDep, role: Role | None = None) -> object:
    require(caller, Role.OPERATOR, Role.REGULATOR)
    return service.list_organizations(session, role)


@router.get("/me", response_model=OrganizationRead)
def me(caller: Caller) -> object:
    return caller


@router.post("/me/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def new_key(caller: Caller, session: SessionDep) -> dict[str, str]:
    """Add an API key to the caller's organisation (for rotation: add, switch, revoke)."""
    return {"api_key": service.issue_api_key(session, caller)}
