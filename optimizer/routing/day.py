"""Rules of a depot's day of van runs that do not need a solver: who is left for a later day.

A delivery no run of the day takes either waits for a later day's run or needs a direct trip.
:func:`later_run_takes` decides: it waits when it fits in a van, a single-stop run there and back
(plus the hand-over) fits in a shift as long as this one, and the next van run after this day's
departure still arrives by its deadline by the ETA rules
(:meth:`optimizer.travel.TravelNetwork.earliest_arrival`). Pure: plain values in, a bool out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from inventory.domain import TransportMode
from optimizer.travel import TravelNetwork

SERVICE_MINUTES = 10.0
"""Hand-over time at a site per delivery."""


def later_run_takes(network: TravelNetwork, depot_id: str, site_id: str, mode: TransportMode, *,
                    load: int, capacity: int, ready_at: datetime, due_at: datetime | None,
                    shift_start: datetime, shift_end: datetime,
                    service_minutes: float = SERVICE_MINUTES) -> bool:
    """Whether a delivery left off the day's runs can wait for a later day's van run (else it
    needs a direct trip). ``load``: its van load; ``capacity``: a van's; ``ready_at``: when it
    reached the depot; ``due_at``: its deadline (None: none); the shift is this day's."""
    if load > capacity:
        return False
    i, j = network.depot_index[depot_id], network.site_index[site_id]
    drive = 2 * float(network.drive_hours(float(network.road_km[i, j]), mode.speed_kmh))
    if timedelta(hours=drive, minutes=service_minutes) > shift_end - shift_start:
        return False
    if due_at is None:
        return True
    after = max(ready_at, shift_start + timedelta(seconds=1))
    leg = network.earliest_arrival(depot_id, site_id, mode.mode_id, after)
    return leg is not None and leg.arrives_at <= due_at
