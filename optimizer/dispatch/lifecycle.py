"""The dispatch lifecycle: statuses, the events that move them, and the SLA outcome.

Pure rules on plain values (no web, no database); ``api.dispatches.lifecycle`` applies them to
the stored dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    RESERVED = "reserved"  # stock reserved at the source (on time or at risk)
    BACKORDERED = "backordered"  # no stock anywhere; waiting for the pipeline
    PICKED = "picked"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CLOSED = "closed"  # the defective unit came back and went to repair
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    PICKED = "picked"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    DEFECTIVE_RECEIVED = "defective_received"
    CANCELLED = "cancelled"


TRANSITIONS: dict[EventKind, tuple[frozenset[Status], Status]] = {
    EventKind.PICKED: (frozenset({Status.RESERVED}), Status.PICKED),
    EventKind.SHIPPED: (frozenset({Status.RESERVED, Status.PICKED}), Status.SHIPPED),
    EventKind.DELIVERED: (frozenset({Status.SHIPPED}), Status.DELIVERED),
    EventKind.DEFECTIVE_RECEIVED: (frozenset({Status.DELIVERED}), Status.CLOSED),
    EventKind.CANCELLED: (frozenset({Status.RESERVED, Status.PICKED, Status.BACKORDERED}),
                          Status.CANCELLED),
}
"""event -> (statuses it may follow, status it leads to); anything else is illegal."""

OPEN_STATUSES = frozenset({Status.RESERVED, Status.BACKORDERED, Status.PICKED, Status.SHIPPED})
"""Statuses of a dispatch still under way (a second one for the same ticket and part is refused
unless the caller says it is intended)."""


def next_status(current: Status, event: EventKind) -> Status | None:
    """The status after ``event``, or None when the transition is illegal."""
    allowed, target = TRANSITIONS[event]
    return target if current in allowed else None


@dataclass(frozen=True)
class SlaOutcome:
    """``outcome`` is ``met`` or ``missed``; ``delta_hours`` is due minus delivered, rounded to
    3 decimals (negative: late by that much; None without a part deadline)."""

    outcome: str
    delta_hours: float | None


def sla_outcome(due_at: datetime | None, delivered_at: datetime) -> SlaOutcome:
    """Met when delivered by the due instant, always met without a part deadline (a response
    milestone). Both instants timezone-aware."""
    if due_at is None:
        return SlaOutcome("met", None)
    delta = (due_at - delivered_at) / timedelta(hours=1)
    return SlaOutcome("met" if delta >= 0 else "missed", round(delta, 3))
