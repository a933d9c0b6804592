from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from traceseal.orgs.models import KeyScope, Role


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


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=100, description="What the key is for, to tell keys apart.")
    scope: KeyScope = Field(
        KeyScope.MEMBER, description="admin keys also manage keys; member keys do the rest."
    )
    expires_at: datetime | None = Field(None, description="After this the key is refused.")


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str = Field(description="The key's first characters, to recognise it.")
    name: str = Field(validation_alias="label")
    scope: KeyScope
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="To the minute.")
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    api_key: str = Field(description="Shown once; only its hash is stored.")
    key: KeyRead | None = None
