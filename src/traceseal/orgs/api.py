from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from traceseal.orgs import service
from traceseal.orgs.deps import Caller, require, require_admin_key
from traceseal.orgs.models import Organization, Role
from traceseal.orgs.schemas import (
    ApiKeyCreated,
    KeyCreate,
    KeyRead,
    OrganizationCreate,
    OrganizationCreated,
    OrganizationRead,
)
from traceseal.web.deps import PathId, SessionDep

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


@router.get("/me/keys", response_model=list[KeyRead])
def my_keys(caller: Caller, session: SessionDep) -> object:
    """The organisation's API keys (never their secrets): name, scope, expiry, last use."""
    return service.list_keys(session, caller)


@router.post("/me/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def new_key(
    request: Request, caller: Caller, session: SessionDep, body: KeyCreate | None = None
) -> dict[str, object]:
    """Add an API key (admin keys only). The key is in this response only."""
    require_admin_key(request)
    return _created(session, caller, body or KeyCreate())


@router.delete("/me/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_key(
    request: Request, key_id: PathId, caller: Caller, session: SessionDep
) -> Response:
    """Revoke a key (admin keys only): refused from the next request on."""
    require_admin_key(request)
    service.revoke_key(session, caller, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/keys/{key_id}/rotate", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated
)
def rotate_my_key(
    request: Request, key_id: PathId, caller: Caller, session: SessionDep
) -> dict[str, object]:
    """A new key with the same name, scope and expiry; the old one is revoked now."""
    require_admin_key(request)
    token, key = service.rotate_key(session, caller, key_id)
    return {"api_key": token, "key": KeyRead.model_validate(key)}


@router.get("/{organization_id}/keys", response_model=list[KeyRead])
def org_keys(organization_id: PathId, caller: Caller, session: SessionDep) -> object:
    """Any organisation's keys (operator only)."""
    return service.list_keys(session, _other(session, caller, organization_id))


@router.post(
    "/{organization_id}/keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated
)
def new_org_key(
    organization_id: PathId, caller: Caller, session: SessionDep, body: KeyCreate | None = None
) -> dict[str, object]:
    """A key for any organisation (operator only), e.g. its first admin key after a loss."""
    return _created(session, _other(session, caller, organization_id), body or KeyCreate())


@router.delete("/{organization_id}/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_org_key(
    organization_id: PathId, key_id: PathId, caller: Caller, session: SessionDep
) -> Response:
    """Revoke any organisation's key (operator only)."""
    service.revoke_key(session, _other(session, caller, organization_id), key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _other(session: SessionDep, caller: Organization, organization_id: int) -> Organization:
    require(caller, Role.OPERATOR)
    return service.find_organization(session, organization_id)


def _created(session: SessionDep, org: Organization, body: KeyCreate) -> dict[str, object]:
    token, key = service.create_key(
        session, org, body.name, scope=body.scope, expires_at=body.expires_at
    )
    return {"api_key": token, "key": KeyRead.model_validate(key)}
