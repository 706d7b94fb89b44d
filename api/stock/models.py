"""Schemas of the stock endpoints."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class StockRow(BaseModel):
    depot_id: str
    part_id: str
    on_hand: int
    reserved: int
    in_transit: int
    defective: int
    in_repair: int
    available: int


class Receipt(BaseModel):
    """Units received (from a supplier or repair) into on-hand stock."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"depot_id": "GZ", "part_id": "PSU-1200", "quantity": 2, "reference": "PO-4711"}]})

    depot_id: str = Field(min_length=1)
    part_id: str = Field(min_length=1)
    quantity: int = Field(ge=1, le=1_000_000)
    reference: str = Field(default="", max_length=200)
    at: AwareDatetime | None = None


class Adjustment(BaseModel):
    """A counted correction of on-hand stock (+ found, - lost/damaged) with its reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": -1, "reason": "cycle count"}]})

    depot_id: str = Field(min_length=1)
    part_id: str = Field(min_length=1)
    quantity: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=500)
    reference: str = Field(default="", max_length=200)
    at: AwareDatetime | None = None
