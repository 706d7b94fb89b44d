"""A depot's van runs for one day over the pending run-mode dispatches in the database.

Shared by ``spares routes plan`` and ``POST /v1/route-plans``. The pending deliveries are the
dispatches reserved or picked (not yet shipped) at the depot whose transport mode is a van run,
due on or after the day (or without a part deadline). Those picked only after the vans leave
(:meth:`optimizer.travel.TravelNetwork.picked_at` from the later of report and creation) wait
for another day or a direct trip; each other one becomes a
:class:`optimizer.routing.runs.Delivery` with the window [shift start, due time] and the van load of
its part's size class times the quantity; the km and hours between stops come from
:meth:`optimizer.travel.TravelNetwork.stop_matrices` (great-circle x circuity, driving time by the
rule of every ETA). The shift is the van mode's hours that day in the depot's time zone.
:func:`optimizer.routing.runs.plan_runs` plans the runs, verified by the independent checker.
A left-out delivery waits for a later day's run or is flagged for a direct trip by
:func:`optimizer.routing.day.later_run_takes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inventory.db.dispatch_models import Dispatch, as_utc
from inventory.domain import Scenario, TransportKind, TransportMode
from optimizer.calendars import Calendar, day_interval
from optimizer.travel import TravelNetwork

if TYPE_CHECKING:  # the solvers import at the first route plan, not at server start
    from optimizer.routing.runs import Delivery, RunPlan, Vans

PENDING_STATUSES = ("reserved", "picked")
"""Dispatch statuses whose part is still at the depot (reserved or picked, not shipped)."""


class RoutePlanError(ValueError):
    """Bad input to a route plan; ``field`` names the input (``depot_id``, ``date``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Pending:
    """A pending run-mode dispatch as the planner needs it."""

    dispatch_id: str
    ticket_id: str
    site_id: str
    part_id: str
    quantity: int
    due_at: datetime | None
    ready_at: datetime
    """When the request reached the depot: the later of its report and its creation."""


@dataclass(frozen=True)
class LeftOut:
    """A pending dispatch on no run of the day: ``deferred`` when a later day's van run still
    arrives by its deadline (by the ETA rules), else it needs a direct trip."""

    pending: Pending
    reason: str
    deferred: bool


@dataclass(frozen=True)
class DayPlan:
    """The day's runs with everything needed to show and re-check them."""

    depot_id: str
    day: date
    timezone: str
    mode: TransportMode
    shift_start: datetime
    shift_end: datetime
    vans: Vans
    pending: tuple[Pending, ...]
    left_out: tuple[LeftOut, ...]
    """Pending dispatches on no run of the day, with the reason and what to do instead."""
    deliveries: tuple[Delivery, ...]
    km: np.ndarray
    hours: np.ndarray
    plan: RunPlan


def van_mode(scenario: Scenario) -> TransportMode:
    """The scenario's van-run mode (the first by id if there are several)."""
    modes = sorted((m for m in scenario.transport_modes if m.kind is TransportKind.VAN_RUN),
                   key=lambda m: m.mode_id)
    if not modes:
        raise RoutePlanError("depot_id", f"scenario {scenario.name!r} has no transport mode of "
                             "kind van_run")
    return modes[0]


def shift(scenario: Scenario, depot_id: str, day: date, mode: TransportMode
          ) -> tuple[datetime, datetime]:
    """The vans' shift on local ``day``: the mode's hours at the depot (UTC instants)."""
    depot = scenario.depot(depot_id)
    iv = day_interval(mode.hours, Calendar(depot.timezone, depot.country), day)
    if iv is None:
        raise RoutePlanError("date", f"no van runs from {depot_id} on {day:%a %Y-%m-%d} "
                             f"(mode {mode.mode_id} runs {mode.hours.format()}, public holidays "
                             "excluded)")
    return iv


def pending_dispatches(*, session: Session, scenario: Scenario, depot_id: str,
                       since: datetime) -> list[Pending]:
    """Reserved or picked dispatches from ``depot_id`` by a van-run mode, due at/after ``since``."""
    modes = [m.mode_id for m in scenario.transport_modes if m.kind is TransportKind.VAN_RUN]
    q = (select(Dispatch)
         .where(Dispatch.source_depot_id == depot_id, Dispatch.mode_id.in_(modes),
                Dispatch.status.in_(PENDING_STATUSES),
                or_(Dispatch.due_at.is_(None), Dispatch.due_at >= since))
         .order_by(Dispatch.due_at, Dispatch.id))
    return [Pending(r.id, r.ticket_id, r.site_id, r.shipped_part_id or r.part_id, r.quantity,
                    as_utc(r.due_at), max(as_utc(r.reported_at), as_utc(r.created_at)))
            for r in session.scalars(q)]


def plan_day(*, session: Session, network: TravelNetwork, depot_id: str, day: date,
             vans: int = 3, capacity: int = 30, seconds: float = 2.0, seed: int = 0) -> DayPlan:
    """Plan ``depot_id``'s van runs on local ``day`` for its pending run-mode dispatches.

    ``network`` is the scenario's travel network (the API's, or one built for the CLI).
    """
    from optimizer.routing.day import SERVICE_MINUTES, later_run_takes
    from optimizer.routing.runs import DEFAULT_SIZE_LOADS, Delivery, Vans, default_stop, plan_runs

    scenario = network.scenario
    if depot_id not in scenario._index["depots"]:
        raise RoutePlanError("depot_id", f"unknown depot {depot_id!r}")
    if vans < 1:
        raise RoutePlanError("vans", f"must be >= 1, got {vans}")
    if capacity < 1:
        raise RoutePlanError("capacity", f"must be >= 1, got {capacity}")
    if not seconds > 0:
        raise RoutePlanError("seconds", f"must be > 0, got {seconds}")
    mode = van_mode(scenario)
    start, end = shift(scenario, depot_id, day, mode)
    depot = scenario.depot(depot_id)
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(depot.timezone))
    pending = pending_dispatches(session=session, scenario=scenario, depot_id=depot_id,
                                 since=midnight)
    loadable, not_ready = [], []
    depot_i = network.depot_index[depot_id]
    for p in pending:
        picked = network.picked_at(depot_i, p.ready_at)
        if picked > start:
            when = picked.astimezone(ZoneInfo(depot.timezone))
            not_ready.append((p, f"picked only at {when:%Y-%m-%d %H:%M}, after the vans leave"))
        else:
            loadable.append(p)
    load = {p.dispatch_id: DEFAULT_SIZE_LOADS[scenario.part(p.part_id).size_class] * p.quantity
            for p in pending}
    # a deadline before the shift start stays a (flagged) delivery: the window may not invert
    deliveries = tuple(
        Delivery(p.dispatch_id, (scenario.site(p.site_id).lat, scenario.site(p.site_id).lon),
                 earliest=min(start, p.due_at or end), latest=p.due_at or end,
                 service_minutes=SERVICE_MINUTES, load=load[p.dispatch_id])
        for p in loadable)
    km, hours = network.stop_matrices(depot_id, [p.site_id for p in loadable], mode.speed_kmh)
    fleet = Vans(vans, capacity, start, end)
    stop = default_stop(seconds)
    plan = plan_runs(depot, deliveries, fleet, hours, distance_km=km, stop=stop, seed=seed)
    by_id = {p.dispatch_id: p for p in pending}
    left = [*not_ready, *((by_id[u.delivery_id], u.reason) for u in plan.direct)]
    left_out = tuple(
        LeftOut(p, reason, later_run_takes(network, depot_id, p.site_id, mode,
                                           load=load[p.dispatch_id], capacity=capacity,
                                           ready_at=p.ready_at, due_at=p.due_at,
                                           shift_start=start, shift_end=end))
        for p, reason in sorted(left, key=lambda x: x[0].dispatch_id))
    return DayPlan(depot_id, day, depot.timezone, mode, start, end, fleet, tuple(pending),
                   left_out, deliveries, km, hours, plan)


def plan_view(dp: DayPlan) -> dict[str, Any]:
    """The JSON shape of a day plan (``RoutePlanOut``); times in the depot's local offset."""
    zone = ZoneInfo(dp.timezone)
    by_id = {p.dispatch_id: p for p in dp.pending}

    def local(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(zone).isoformat()

    runs = []
    for r in dp.plan.runs:
        stops = []
        for n, s in enumerate(r.stops, start=1):
            p = by_id[s.delivery_id]
            stops.append({"seq": n, "dispatch_id": p.dispatch_id, "ticket_id": p.ticket_id,
                          "site_id": p.site_id, "part_id": p.part_id, "quantity": p.quantity,
                          "arrival": local(s.arrival), "start": local(s.start),
                          "depart": local(s.depart), "deadline": local(s.deadline),
                          "slack_minutes": round(s.slack / timedelta(minutes=1), 1)})
        runs.append({"van": r.van, "depart": local(r.depart), "back": local(r.back),
                     "km": round(r.distance_km or 0.0, 3), "load": r.load, "stops": stops})
    direct: list[dict[str, Any]] = []
    deferred: list[dict[str, Any]] = []
    for u in dp.left_out:
        p = u.pending
        row = {"dispatch_id": p.dispatch_id, "ticket_id": p.ticket_id, "site_id": p.site_id,
               "part_id": p.part_id, "due_at": local(p.due_at), "reason": u.reason}
        (deferred if u.deferred else direct).append(row)
    report = dp.plan.report
    return {"depot_id": dp.depot_id, "date": dp.day.isoformat(), "timezone": dp.timezone,
            "mode_id": dp.mode.mode_id, "shift_start": local(dp.shift_start),
            "shift_end": local(dp.shift_end), "vans": dp.vans.count,
            "capacity": dp.vans.capacity, "pending": len(dp.pending), "runs": runs,
            "direct": direct, "deferred": deferred,
            "total_km": round(sum(r["km"] for r in runs), 3),
            "check": {"feasible": report.feasible, "runs": report.num_routes,
                      "km": round(report.cost_units / 1000.0, 3)}}
