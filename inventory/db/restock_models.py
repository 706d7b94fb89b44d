"""Table of the planner API's quarterly restocking runs (``POST /v1/restock-runs``).

A row is written when a run is requested (``queued``), updated as it starts (``running``) and ends
(``succeeded`` with the summary, the orders and the output paths, or ``failed`` with the error),
and once more when a planner approves it (``approved_at`` and the approval counts). The orders are
kept as JSON records so a run can be approved after a server restart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db.base import Base, UtcDateTime
from inventory.db.dispatch_models import utcnow


class RestockRun(Base):
    """One quarterly restocking run requested through the API."""

    __tablename__ = "restock_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), index=True)
    """The organization (``organizations.id``) of the key that requested the run."""
    created_by: Mapped[str | None] = mapped_column(String(40))
    """The id of the API key that requested the run."""
    quarter: Mapped[str] = mapped_column(String(10))
    budget: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), index=True)  # queued|running|succeeded|failed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    plan_ref: Mapped[str | None] = mapped_column(String(200))
    """The run id of the restock plan (quarter, scenario, digest of the orders): ledger references."""
    summary: Mapped[dict | None] = mapped_column(JSON)
    orders: Mapped[dict | None] = mapped_column(JSON)
    outputs: Mapped[dict | None] = mapped_column(JSON)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(40))
    posted: Mapped[int | None] = mapped_column(Integer)
    skipped: Mapped[int | None] = mapped_column(Integer)
