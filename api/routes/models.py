"""Schemas of the route-plan endpoint (planner API): a depot's van runs for one day."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.inputs import Day, identifier, integer, number


class RoutePlanCreate(BaseModel):
    """Plan the day's van runs over the depot's pending run-mode dispatches."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"depot_id": "GZ", "date": "2025-06-05", "vans": 2}]})

    depot_id: identifier(100)
    date: Day = Field(description="the local day of the runs at the depot, YYYY-MM-DD "
                                  "(2000-01-01 to 2099-12-31)")
    vans: integer(1, 200) = Field(default=3, description="vans available that day")
    capacity: integer(1, 100_000) = Field(
        default=30, description="load units per van (small part 1, medium 3, large 10)")
    seconds: number(gt=0, le=60) = Field(default=2.0, description="solver time limit")


class StopOut(BaseModel):
    seq: int
    dispatch_id: str
    ticket_id: str
    site_id: str
    part_id: str
    quantity: int
    arrival: AwareDatetime
    start: AwareDatetime = Field(description="service starts (after any wait for the window)")
    depart: AwareDatetime
    deadline: AwareDatetime = Field(description="the dispatch's due time (part on site)")
    slack_minutes: float = Field(description="deadline minus service start")


class RunOut(BaseModel):
    van: int
    depart: AwareDatetime
    back: AwareDatetime
    km: float
    load: int = Field(description="load units carried")
    stops: list[StopOut]


class LeftOut(BaseModel):
    """A pending dispatch no run of the day carries."""

    dispatch_id: str
    ticket_id: str
    site_id: str
    part_id: str
    due_at: AwareDatetime | None
    reason: str


class CheckOut(BaseModel):
    """The independent checker's verdict on the runs (every constraint re-walked)."""

    feasible: bool
    runs: int
    km: float


class RoutePlanOut(BaseModel):
    depot_id: str
    date: dt.date
    timezone: str
    mode_id: str = Field(description="the van-run transport mode whose hours give the shift")
    shift_start: AwareDatetime
    shift_end: AwareDatetime
    vans: int
    capacity: int
    pending: int = Field(description="pending run-mode dispatches considered")
    runs: list[RunOut]
    direct: list[LeftOut] = Field(description="on no run of the day, and a later day's run "
                                  "would be late: send as a direct trip")
    deferred: list[LeftOut] = Field(description="on no run of the day, but within a van's "
                                    "round trip and a later day's run still arrives by the "
                                    "deadline")
    total_km: float
    check: CheckOut
