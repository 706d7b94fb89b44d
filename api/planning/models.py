"""Schemas of /v1/overlays and /v1/overrides (what-if overlays, planner stock and forecast
overrides, their audit trail). Values are checked by :mod:`api.planning.service`, the same
functions the workspace's forms use, so both refuse the same input naming the same field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import free_text, identifier, integer, number
from api.pagination import PageInfo

REASON_MAX = 2000
BODY_MAX = 64_000
EXPIRY = identifier(40)


class OverlayIn(BaseModel):
    """A named what-if overlay: TOML (docs/what-if.md), checked against the served scenario."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Guangzhou surge", "body": '[[demand]]\nfactor = 1.5\nregions = ["GZ"]\n'}]})

    name: identifier(100) = Field(description="unique among all overlays")
    body: free_text(BODY_MAX) = Field(description="the overlay's TOML text; a wrong field is a "
                                                  "422 naming `body.overlay.<field>`")


class OverlayOut(BaseModel):
    id: str
    name: str
    body: str
    changes: list[str] = Field(description="one line per change the overlay makes")
    organization_id: str = Field(description="the organization of whoever created it")
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class OverlayPage(PageInfo):
    items: list[OverlayOut]


class StockOverrideIn(BaseModel):
    """A minimum and/or maximum base stock of a part at a location (depot or candidate);
    setting it again for the same part and location replaces it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"part_id": "PSU-1200", "location_id": "GZ", "min_stock": 3, "max_stock": None,
         "reason": "launch at Tianhe", "expires_at": "2027-03-31"}]})

    part_id: identifier(100)
    location_id: identifier(100)
    min_stock: integer(0, 1_000_000) | None = Field(default=None, description="units; give a "
                                                    "minimum, a maximum or both")
    max_stock: integer(0, 1_000_000) | None = Field(default=None, description="units, >= the "
                                                    "minimum")
    reason: free_text(REASON_MAX) = Field(description="why (kept in the audit trail)")
    expires_at: EXPIRY | None = Field(default=None, description="a date (the end of that day, "
                                      "UTC) or an instant with offset; none: until removed")


class ForecastOverrideIn(BaseModel):
    """A part's forecast in units a month, replacing the computed one until it expires;
    setting it again for the same part replaces it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"part_id": "PSU-1200", "units_per_month": 4.5, "reason": "rollout of 200 new shelves",
         "expires_at": "2027-06-30"}]})

    part_id: identifier(100)
    units_per_month: number(ge=0, le=1e7)
    reason: free_text(REASON_MAX) = Field(description="why (kept in the audit trail)")
    expires_at: EXPIRY = Field(description="a date (the end of that day, UTC) or an instant "
                                           "with offset, in the future")


class StockOverrideOut(BaseModel):
    id: int
    part_id: str
    location_id: str
    min_stock: int | None
    max_stock: int | None
    reason: str
    expires_at: datetime | None
    active: bool = Field(description="not expired: plans and restock runs apply it")
    organization_id: str
    updated_by: str
    updated_at: datetime


class ForecastOverrideOut(BaseModel):
    id: int
    part_id: str
    units_per_month: float
    reason: str
    expires_at: datetime
    active: bool = Field(description="not expired: plans and restock runs apply it")
    organization_id: str
    updated_by: str
    updated_at: datetime


class StockOverridePage(PageInfo):
    items: list[StockOverrideOut]


class ForecastOverridePage(PageInfo):
    items: list[ForecastOverrideOut]


class AuditOut(BaseModel):
    """One change to an overlay or override: who, when, the values before and after, why."""

    id: int
    at: datetime
    actor: str
    kind: str = Field(description="stock, forecast or overlay")
    subject: str = Field(description="part@location, part, or the overlay's name")
    action: str = Field(description="create, update or delete")
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str
    organization_id: str


class AuditPage(PageInfo):
    items: list[AuditOut]
