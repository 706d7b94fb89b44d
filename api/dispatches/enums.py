"""Dispatch statuses, lifecycle events and the state machine between them."""

from __future__ import annotations

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
"""event -> (statuses it may follow, status it leads to); anything else is a 409."""


def next_status(current: Status, event: EventKind) -> Status | None:
    """The status after ``event``, or None when the transition is illegal."""
    allowed, target = TRANSITIONS[event]
    return target if current in allowed else None
