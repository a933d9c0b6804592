from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from traceseal.orgs.models import Role


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    created_at: datetime


class OrganizationCreated(OrganizationRead):
    api_key: str = Field(description="Shown once; only its hash is stored.")


class ApiKeyCreated(BaseModel):
    api_key: str
