"""Schemas of SLA compliance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TierSeverityRow(BaseModel):
    tier: str
    severity: int
    delivered: int
    met: int
    overdue: int = Field(description="past due, neither delivered nor cancelled (counted missed)")
    on_time_share: float | None = Field(description="met / (delivered + overdue); None when 0")
    target: float | None = Field(description="the contract target (lowest across contracts)")


class DepotRow(BaseModel):
    depot_id: str
    depot_kind: str
    delivered: int
    met: int
    overdue: int
    on_time_share: float | None


class Compliance(BaseModel):
    delivered: int
    met: int
    overdue: int
    on_time_share: float | None
    as_of: datetime = Field(description="overdue means due before this instant (the server's now)")
    by_tier_severity: list[TierSeverityRow]
    by_depot: list[DepotRow]
    by_depot_kind: list[DepotRow]
