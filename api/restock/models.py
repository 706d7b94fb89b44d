"""Schemas of the restock-run endpoints (planner API)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from api.inputs import EARLIEST, LATEST, identifier, number
from api.pagination import PageInfo


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RestockRunCreate(BaseModel):
    """A quarterly restocking run on the database's stock ledger."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"quarter": "2027Q1", "budget": 250000.0}]})

    quarter: identifier(10) = Field(description="quarter to plan, YYYYQn (2000Q1 to 2099Q4)")
    budget: number(ge=0, le=1e15) | None = Field(
        default=None, description="cap on the buy amount (scenario currency)")
    overlay: identifier(100) | None = Field(
        default=None, description="a stored what-if overlay (`/v1/overlays`), by id or name: "
        "the run plans and orders for the changed network (as `spares restock --overlay`) and "
        "cannot be approved; an unknown one is a 422 naming `body.overlay`")

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, value: str) -> str:
        from optimizer.restock.quarter import Quarter  # the restock package loads on first use

        try:
            q = Quarter.parse(value)
        except ValueError as exc:
            raise PydanticCustomError("quarter", "{reason}", {"reason": str(exc)}) from None
        if not EARLIEST.year <= q.year < LATEST.year:
            raise PydanticCustomError("quarter_range", "must be from {first}Q1 to {last}Q4",
                                      {"first": EARLIEST.year, "last": LATEST.year - 1})
        return str(q)


class Orders(BaseModel):
    """The run's order tables as records (columns as in the CSV outputs)."""

    transfers: list[dict[str, Any]]
    repairs: list[dict[str, Any]]
    buys: list[dict[str, Any]]
    contractual: list[dict[str, Any]] = Field(
        default_factory=list, description="buys that hold a contractual minimum, booked on "
                                          "approval like the buys (lines `M<n>`)")
    excess: list[dict[str, Any]]
    cut: list[dict[str, Any]]


class Approval(BaseModel):
    """When and by whom the run's orders were booked, and how many ledger movements that took.

    ``skipped`` counts movements already in the ledger (an equal plan approved before)."""

    approved_at: AwareDatetime
    approved_by: str | None
    posted: int
    skipped: int


class RunOverlay(BaseModel):
    """The what-if overlay a run planned on, as it was when the run was requested."""

    id: str = Field(description="the overlay's id (`/v1/overlays/{id}`; it may have changed "
                                "or been deleted since)")
    name: str
    changes: list[str] = Field(description="one line per change the overlay made")


class RestockRunBrief(BaseModel):
    """A run as listed: its status, times, approval and where to download its outputs."""

    id: str
    organization_id: str = Field(description="the organization the run belongs to (that of "
                                             "the key that requested it)")
    requested_by: str | None = Field(description="id of the API key that requested it")
    status: RunStatus
    quarter: str
    budget: float | None
    created_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    error: str | None = Field(description="why a failed run failed")
    plan_ref: str | None = Field(description="id of the restock plan: quarter, scenario and a "
                                 "digest of the orders; ledger references start with "
                                 "restock:<plan_ref>")
    outputs: dict[str, str] | None = Field(
        description="output name -> API path that downloads it (GET with a planner key): "
                    "the order tables as CSV, summary.json, report.xlsx and report.html")
    approval: Approval | None
    overlay: RunOverlay | None = Field(
        default=None, description="the what-if overlay the run planned on, None for the "
                                  "network as it is")


class RestockRunOut(RestockRunBrief):
    """A run with its headline figures and its orders."""

    summary: dict[str, Any] | None = Field(description="headline figures (summary.json)")
    orders: Orders | None
    already_approved: bool = Field(
        default=False, description="set on an approve call that found the run approved before "
        "(nothing more was booked)")


class RestockRunList(PageInfo):
    items: list[RestockRunBrief]
