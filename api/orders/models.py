"""Schemas of the dispatch-order endpoints (planner API)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from api.inputs import Instant, free_text, identifier
from api.pagination import PageInfo
from api.pipeline.models import MovementOut
from api.stock.models import StockRow


class OrderKind(StrEnum):
    TRANSFER = "transfer"  # refill the dispatch's source depot from its parent
    BUY = "buy"  # the HQ buys from a supplier
    REPAIR = "repair"  # the returned defective unit goes through the repair loop
    SCRAP = "scrap"  # the returned defective unit of a consumable part is written off


class OrderOrigin(StrEnum):
    DISPATCH = "dispatch"  # opened by a dispatch
    RESTOCK = "restock"  # opened by the approval of a quarterly restock run


class OrderStatus(StrEnum):
    OPEN = "open"  # opened by the dispatch; nothing booked for it yet
    SENT = "sent"  # the units left: transfer / buy in transit, repair unit in repair
    RECEIVED = "received"  # the units are on hand at the order's depot
    SCRAPPED = "scrapped"  # the unit was written off
    CANCELLED = "cancelled"  # closed before anything was sent


class OrderEventKind(StrEnum):
    SENT = "sent"
    RECEIVED = "received"
    SCRAPPED = "scrapped"
    CANCELLED = "cancelled"


class OrderEventCreate(BaseModel):
    """A step of a dispatch order, booked in the ledger with reference ``order:<id>``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "sent", "at": "2025-06-05T10:00:00+08:00"},
        {"kind": "received", "at": "2025-06-26T09:00:00+08:00"},
        {"kind": "scrapped", "reason": "beyond economic repair"},
        {"kind": "cancelled", "reason": "dispatch cancelled, no refill needed"}]})

    kind: OrderEventKind
    at: Instant | None = Field(default=None, description="when it happened (default now); not "
                                                          "after the server's clock")
    reason: free_text(500) | None = Field(default=None, description="kept on the movements; "
                                                                    "required for scrapped")
    depot_id: identifier(100) | None = Field(default=None,
                                             description="received repair orders only: where "
                                                         "the repaired unit lands (default the "
                                                         "order's depot)")


ORDER_EXAMPLE = {
    "id": 7, "origin": "dispatch", "dispatch_id": "dsp_3f2a9c0d1e4b5a69", "restock_run_id": None,
    "restock_line": None, "kind": "repair", "status": "sent",
    "depot_id": "HQ-SZ", "from_id": "GZ", "part_id": "PSU-1200", "quantity": 1, "value": None,
    "expected_at": "2025-06-26T01:00:00Z", "created_at": "2025-06-05T01:00:00Z",
    "movements": [{"id": 42, "at": "2025-06-05T02:00:00Z", "depot_id": "GZ",
                   "part_id": "PSU-1200", "kind": "send_to_repair", "quantity": 1,
                   "reference": "order:7", "reason": None, "actor": "planner (key_1a2b)"}]}
"""A repair order sent to repair (the shape of :class:`DispatchOrderOut`)."""


class DispatchOrderOut(BaseModel):
    """An order a dispatch or an approved restock run opened, with the ledger movements booked
    for it so far."""

    model_config = ConfigDict(json_schema_extra={"examples": [ORDER_EXAMPLE]})

    id: int
    origin: OrderOrigin = Field(description="who opened it: a dispatch or a restock run's "
                                            "approval")
    dispatch_id: str | None = Field(description="the dispatch that opened it (origin dispatch)")
    restock_run_id: str | None = Field(description="the restock run whose approval opened it "
                                                   "(origin restock)")
    restock_line: str | None = Field(description="the run's order line: T<n>, R<n>, B<n> (row "
                                                 "n of its transfers, repairs, buys)")
    kind: OrderKind
    status: OrderStatus
    depot_id: str = Field(description="where the units land (transfer/buy: the depot refilled; "
                                      "repair/scrap: the HQ repair loop, or for a restock "
                                      "repair the depot the serviceable unit is credited to)")
    from_id: str = Field(description="where they come from: the parent depot, 'supplier', or "
                                     "the depot holding the defective unit")
    part_id: str
    quantity: int
    value: float | None = Field(description="restock orders: what the order costs in the "
                                            "scenario currency (a transfer's transport, a "
                                            "repair's cost, a buy's amount); null for dispatch "
                                            "orders")
    expected_at: datetime
    created_at: datetime
    movements: list[MovementOut] = Field(description="ledger movements with reference "
                                                     "order:<id>, in order")


class DispatchOrderList(PageInfo):
    items: list[DispatchOrderOut]


class OrderEventOut(DispatchOrderOut):
    """The order after the event, the stock it touched and the backorders it filled."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **ORDER_EXAMPLE,
        "stock": [{"depot_id": "GZ", "part_id": "PSU-1200", "on_hand": 1, "reserved": 0,
                   "in_transit": 0, "defective": 0, "in_repair": 1, "available": 1}],
        "filled_dispatch_ids": []}]})

    stock: list[StockRow]
    filled_dispatch_ids: list[str]
