"""Request and response schemas of the dispatch endpoints (with OpenAPI examples)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.dispatches.examples import DISPATCH_EXAMPLE
from api.inputs import Instant, free_text, identifier, integer
from api.pagination import PageInfo
from optimizer.dispatch.lifecycle import EventKind, Status


class DispatchCreate(BaseModel):
    """A ticket system's request for a replacement part."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "ticket_id": "INC0012345", "site_id": "GZ-01", "part_id": "PSU-1200", "severity": 1,
        "reported_at": "2025-06-04T10:00:00+08:00", "quantity": 1}]})

    ticket_id: identifier(200)
    site_id: identifier(100)
    part_id: identifier(100)
    severity: integer(1, 4) = Field(description="1 = service down ... 4 = minor")
    reported_at: Instant = Field(description="ticket opened, ISO 8601 with offset; not after "
                                             "the server's clock (5 min of skew allowed)")
    quantity: integer(1, 1000) = 1
    confirmed_at: Instant | None = Field(default=None, description="fault confirmed; not "
                                         "before reported_at nor after the server's clock")
    approved_at: Instant | None = Field(default=None, description="dispatch approved; not "
                                        "before reported_at")
    allow_duplicate_ticket: StrictBool = Field(
        default=False, description="true: another unit for a ticket and part that already have "
                                   "an open dispatch is intended (else that is a 409)")

    @field_validator("confirmed_at", "approved_at")
    @classmethod
    def _not_before_report(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        reported = info.data.get("reported_at")
        if value is not None and reported is not None and value < reported:
            raise PydanticCustomError("instant_order", "must not be before reported_at")
        return value


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "shipped", "at": "2025-06-04T10:40:00+08:00"},
        {"kind": "cancelled", "at": "2025-06-04T10:05:00+08:00", "note": "fault cleared"}]})

    kind: EventKind
    at: Instant = Field(description="when it happened, ISO 8601 with offset; not after the "
                                    "server's clock (5 min of skew allowed)")
    note: free_text(2000) | None = None


class DeadlineOut(BaseModel):
    due_at: datetime | None
    clock_started_at: datetime
    milestone: str
    coverage: str
    timezone: str
    holidays_skipped: list[str]
    cutoff_applied: bool
    explanation: str


class OptionOut(BaseModel):
    depot_id: str
    part_id: str
    mode_id: str | None
    free_units: int
    critical_level: int
    departs_at: datetime | None
    eta: datetime | None
    margin_hours: float | None
    meets_deadline: bool
    takes_protected_units: int
    transport_cost: float
    protection_cost: float
    substitute_cost: float
    cost: float
    route: str
    lost_because: str


class OrderOut(BaseModel):
    kind: str
    depot_id: str
    part_id: str
    quantity: int
    from_id: str
    expected_at: datetime
    lead_time_days: float


class SlaOut(BaseModel):
    outcome: str | None = Field(description="met / missed once delivered")
    delta_hours: float | None = Field(description="due minus delivered (negative: late)")
    delivered_at: datetime | None


class EventOut(BaseModel):
    kind: str
    at: datetime
    note: str | None
    recorded_at: datetime


class DispatchOut(BaseModel):
    """A dispatch: the decision (deadline, source, mode, ETA, cost, alternatives) and its state."""

    model_config = ConfigDict(json_schema_extra={"examples": [DISPATCH_EXAMPLE]})

    id: str
    ticket_id: str
    status: Status
    site_id: str
    part_id: str
    severity: int
    quantity: int
    tier: str
    on_time: bool
    at_risk: bool
    reason: str
    deadline: DeadlineOut
    source_depot_id: str | None
    mode_id: str | None
    shipped_part_id: str | None
    substitute_part_id: str | None
    eta: datetime | None
    margin_hours: float | None
    cost: float | None
    expected_at: datetime | None = Field(description="ETA, or the backorder's expected date")
    ready_at: datetime = Field(description="when the order reached the source depot: the later of "
                                           "the request's instants and the server's clock")
    chosen: OptionOut | None
    alternatives: list[OptionOut] = Field(
        description="the options not chosen, earliest arrival first: the first 3 unless asked "
                    "for all with `?expand=alternatives`")
    alternatives_total: int = Field(description="how many alternatives the decision weighed")
    replenishment_order: OrderOut | None = Field(
        description="the order refilling the source depot (transfer from its parent, or a buy)")
    repair_order: OrderOut | None = Field(
        default=None, description="opened when the defective unit comes back (defective_received)")
    sla: SlaOut
    events: list[EventOut] = []
    created_at: datetime
    redecided_at: datetime | None = Field(
        default=None, description="when a backorder was filled: the source, mode, ETA, cost and "
                                  "alternatives above are then from that re-decision (the "
                                  "deadline is unchanged; an Idempotency-Key replay still "
                                  "returns the create answer)")


class DispatchList(PageInfo):
    items: list[DispatchOut]
