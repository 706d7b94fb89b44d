"""Dispatch rules around the decision: when an order is ready to ship, and what happens to the
defective unit that comes back. Pure functions on plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inventory.domain import Part


def ready_time(now: datetime, *instants: datetime | None) -> datetime:
    """When an order reaches the depot: the later of ``now`` and the request's own instants
    (reported, confirmed, approved; None skipped), in UTC. A ticket opened hours ago cannot
    ship in the past; an approval in the future waits for it."""
    return max([now, *(t for t in instants if t is not None)]).astimezone(UTC)


def redecision_ready(now: datetime, reported_at: datetime, first_ready: datetime | None) -> datetime:
    """Ready time of a backorder decided again: never before ``now``, the report, nor the ready
    time of its first decision (an approval still in the future keeps holding it)."""
    return ready_time(now, reported_at, first_ready)


@dataclass(frozen=True)
class ReturnOrder:
    """The order that takes a returned defective unit: ``repair`` (toward the HQ, back after
    the part's turnaround) or ``scrap`` (written off at once)."""

    kind: str
    depot_id: str
    from_id: str
    expected_at: datetime
    lead_time_days: float


def return_lead_days(part: Part, kind: str) -> float:
    """Days a ``repair`` order takes (the part's turnaround); 0 for a ``scrap``."""
    return float(part.repair_turnaround_days) if kind == "repair" else 0.0


def returned_unit_order(part: Part, *, hq_depot_id: str, from_depot_id: str,
                        returned_at: datetime) -> ReturnOrder:
    """Repairable parts go to repair toward the HQ, the others to scrap; the order starts at
    the depot the unit came back to (``from_depot_id``)."""
    kind = "repair" if part.repairable else "scrap"
    days = return_lead_days(part, kind)
    return ReturnOrder(kind, hq_depot_id, from_depot_id, returned_at + timedelta(days=days), days)
