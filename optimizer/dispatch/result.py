"""Plain records of the dispatch decision: the request, each option weighed, the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from optimizer.deadlines import Deadline
from optimizer.travel import Leg


class Outcome(StrEnum):
    """ON_TIME: a source meets the deadline. AT_RISK: the earliest ETA misses it (``on_time``
    false, with the reason). BACKORDERED: no depot has free stock of the part or a substitute."""

    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    BACKORDERED = "backordered"


@dataclass(frozen=True)
class DispatchRequest:
    """A ticket's part request: ``quantity`` units of ``part_id`` at ``site_id``.

    Instants are timezone-aware; ``reported_at`` is when the ticket was opened, the optional
    ``confirmed_at`` / ``approved_at`` feed contracts whose clock starts later.
    """

    site_id: str
    part_id: str
    severity: int
    reported_at: datetime
    quantity: int = 1
    confirmed_at: datetime | None = None
    approved_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.severity not in (1, 2, 3, 4):
            raise ValueError(f"severity must be 1, 2, 3 or 4, got {self.severity}")
        if not isinstance(self.quantity, int) or self.quantity < 1:
            raise ValueError(f"quantity must be a whole number >= 1, got {self.quantity}")
        if self.reported_at.tzinfo is None:
            raise ValueError("reported_at must carry a UTC offset")


@dataclass(frozen=True)
class Option:
    """One (depot, part, mode) weighed for a request, with its cost split and verdict.

    ``transport_cost`` is the trip cost; ``protection_cost`` the value of the protected units the
    option would take below the depot's critical level for this tier (units x part unit cost);
    ``substitute_cost`` the price difference when a dearer substitute is shipped. ``cost`` is
    their sum (scenario currency). ``margin_hours`` is due minus ETA (negative: late; None when
    the milestone has no part deadline). ``lost_because`` is empty for the chosen option.
    ``leg`` is the ETA leg behind a feasible option; :attr:`route` formats its explanation when
    read (only the options an answer shows are ever formatted).
    """

    depot_id: str
    part_id: str
    mode_id: str | None
    free_units: int
    critical_level: int
    departs_at: datetime | None
    arrives_at: datetime | None
    margin_hours: float | None
    meets_deadline: bool
    takes_protected: int
    transport_cost: float
    protection_cost: float
    substitute_cost: float
    leg: Leg | None = field(default=None, repr=False, compare=False)
    lost_because: str = ""
    cost: float = field(init=False, repr=False, compare=False)
    """Transport + protection + substitute cost rounded to cents (scenario currency), set at
    construction: a decision sorts and compares its options by it many times."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "cost", round(
            self.transport_cost + self.protection_cost + self.substitute_cost, 2))

    @property
    def route(self) -> str:
        """How the part travels, in words ("" when the option cannot ship)."""
        return "" if self.leg is None else self.leg.explanation

    @property
    def feasible(self) -> bool:
        """True when the option can ship at all (enough free stock and a leg exists)."""
        return self.arrives_at is not None


@dataclass(frozen=True)
class ReplenishmentOrder:
    """The order that puts the shipped units back at the source depot.

    ``kind`` is ``transfer`` (from ``from_id``, the parent depot) or ``buy`` (HQ from a
    supplier); ``expected_at`` is the request time plus the lead time in days.
    """

    kind: str
    depot_id: str
    part_id: str
    quantity: int
    from_id: str
    expected_at: datetime
    lead_time_days: float


@dataclass(frozen=True)
class DispatchDecision:
    """The answer to one request: chosen option (None when backordered) and everything weighed."""

    request: DispatchRequest
    tier: str
    deadline: Deadline | None
    """The contractual deadline; None for a re-decision (:func:`optimizer.dispatch.decide.redecide`),
    whose first decision carries it."""
    outcome: Outcome
    chosen: Option | None
    alternatives: tuple[Option, ...]
    reason: str
    replenishment: ReplenishmentOrder | None
    expected_at: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def on_time(self) -> bool:
        return self.outcome is Outcome.ON_TIME

    @property
    def substitute_id(self) -> str | None:
        """The part shipped instead of the requested one, if any."""
        if self.chosen is None or self.chosen.part_id == self.request.part_id:
            return None
        return self.chosen.part_id
