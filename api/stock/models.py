"""Schemas of the stock endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import Instant, free_text, identifier, integer
from api.pagination import PageInfo


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

    depot_id: identifier(100)
    part_id: identifier(100)
    quantity: integer(1, 1_000_000)
    reference: identifier(200) | None = None
    at: Instant | None = Field(default=None, description="when (default now); not after the "
                                                         "server's clock")


class Adjustment(BaseModel):
    """A counted correction of on-hand stock (+ found, - lost/damaged) with its reason."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"depot_id": "GZ", "part_id": "FAN-T1", "quantity": -1, "reason": "cycle count"}]})

    depot_id: identifier(100)
    part_id: identifier(100)
    quantity: integer(-1_000_000, 1_000_000)
    reason: free_text(500, min_length=1)
    reference: identifier(200) | None = None
    at: Instant | None = Field(default=None, description="when (default now); not after the "
                                                         "server's clock")


class StockPage(PageInfo):
    """A page of balances, ordered by depot then part."""

    items: list[StockRow]
