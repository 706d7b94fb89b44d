"""Schemas of SLA compliance."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TierSeverityRow(BaseModel):
    tier: str
    severity: int
    delivered: int
    met: int
    on_time_share: float | None = Field(description="met / delivered; None when nothing delivered")
    target: float | None = Field(description="the contract target (lowest across contracts)")


class DepotRow(BaseModel):
    depot_id: str
    depot_kind: str
    delivered: int
    met: int
    on_time_share: float | None


class Compliance(BaseModel):
    delivered: int
    met: int
    on_time_share: float | None
    by_tier_severity: list[TierSeverityRow]
    by_depot: list[DepotRow]
    by_depot_kind: list[DepotRow]
