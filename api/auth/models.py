"""Scopes of API keys, the authenticated principal, and the schemas of key management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import Instant, identifier
from api.pagination import PageInfo


class Scope(StrEnum):
    """TICKETING: create and read its organization's dispatches, register webhooks. PLANNER:
    stock (receipts, adjustments) and plans, and every organization's dispatches. ADMIN:
    everything, key and organization management included. VIEWER: looks at the planner
    workspace (``/``) and changes nothing."""

    TICKETING = "ticketing"
    PLANNER = "planner"
    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    """The caller behind an API key, and the organization the key belongs to."""

    key_id: str
    name: str
    scopes: frozenset[Scope]
    organization_id: str
    expires_at: datetime | None = None

    def has(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    @property
    def tenant(self) -> str | None:
        """The organization whose data alone this key sees, or None when it sees all
        (planner and admin keys)."""
        return None if self.has(Scope.PLANNER) else self.organization_id


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "servicenow-prod"}]})

    name: identifier(200) = Field(description="unique; who integrates, e.g. a ticket system")


class OrganizationOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class OrganizationPage(PageInfo):
    items: list[OrganizationOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "servicenow-prod-2027", "scopes": ["ticketing"],
         "expires_at": "2027-12-31T23:59:59Z"}]})

    name: identifier(200)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_at: Instant | None = Field(default=None, description="refused from this instant "
                                                                 "on; must lie in the future")


class KeyOut(BaseModel):
    """A key as listed (never the secret)."""

    id: str
    name: str
    organization_id: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str | None = Field(description="the key itself: shown in this answer only (and to "
                                        "a replay of its Idempotency-Key by the same admin "
                                        "key within an hour), stored hashed; null on any "
                                        "other replay")


class KeyPage(PageInfo):
    items: list[KeyOut]
