"""A depot's multi-stop delivery runs for the day: VRPTW on real times and places.

Each delivery has a window ``[earliest, latest]`` for the part to be on site (``latest`` is the
dispatch's deadline). Times become integer seconds from the vans' shift start, travel times are
rounded *up* to whole seconds (a run never looks on time by round-off), and the routing problem is
solved with PyVRP with every delivery optional at a prize far above any detour, so a delivery is
left out only when no run can make it on time. Left-out deliveries come back flagged, to go as
direct trips. Every returned plan is verified with the independent checker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import numpy as np

from inventory.domain import SizeClass, great_circle_km
from optimizer.routing.checker import CheckReport, ViolationKind, check
from optimizer.routing.problem import RoutingProblem
from optimizer.routing.pyvrp_solver import solve
from optimizer.routing.stop import FirstOf, MaxRuntime, NoImprovement, StoppingCriterion

LatLon = tuple[float, float]
PairFunction = Callable[[LatLon, LatLon], float]

#: Van load units taken by one part of each size class (a van's capacity is in these units).
DEFAULT_SIZE_LOADS: Mapping[SizeClass, int] = {
    SizeClass.SMALL: 1,
    SizeClass.MEDIUM: 3,
    SizeClass.LARGE: 10,
}

DEFAULT_STOP_SECONDS = 2.0
"""Default search time of a day's runs, seconds (the target for <= 100 stops is 5 s)."""
NO_IMPROVEMENT_ITERATIONS = 1_000
"""The search also stops after this many offspring in a row without a better plan: small days end
in well under a second with the same cost as the full time (measured on Solomon subsets of 10,
20 and 50 stops)."""


def default_stop(seconds: float = DEFAULT_STOP_SECONDS) -> StoppingCriterion:
    """Stop after ``seconds`` or :data:`NO_IMPROVEMENT_ITERATIONS` without improvement."""
    return FirstOf(MaxRuntime(seconds), NoImprovement(NO_IMPROVEMENT_ITERATIONS))


class RunPlanningError(ValueError):
    """The inputs to :func:`plan_runs` are inconsistent; the message names the delivery/field."""


@dataclass(frozen=True)
class Delivery:
    """One part to take to a site: where, its on-site window and what it takes in the van.

    ``latest`` is the deadline (part on site); ``earliest`` the first moment the site accepts it.
    ``load`` overrides the load units derived from ``size_class``.
    """

    delivery_id: str
    location: LatLon
    earliest: datetime
    latest: datetime
    service_minutes: float = 10.0
    size_class: SizeClass = SizeClass.SMALL
    load: int | None = None


@dataclass(frozen=True)
class Vans:
    """The depot's van fleet for the day: ``count`` identical vans, capacity in load units."""

    count: int
    capacity: int
    shift_start: datetime
    shift_end: datetime


@dataclass(frozen=True)
class RunStop:
    """A delivery on a run: arrival, service start (after any wait) and departure times."""

    delivery_id: str
    arrival: datetime
    start: datetime
    depart: datetime
    deadline: datetime

    @property
    def slack(self) -> timedelta:
        """How much earlier than its deadline the service starts."""
        return self.deadline - self.start


@dataclass(frozen=True)
class Run:
    """One van's round trip from the depot; it leaves as late as keeps every service start."""

    van: int
    depart: datetime
    stops: tuple[RunStop, ...]
    back: datetime
    distance_km: float | None
    load: int


@dataclass(frozen=True)
class Unplanned:
    """A delivery no run can make on time: it goes back to a direct trip (flagged)."""

    delivery_id: str
    reason: str


@dataclass(frozen=True)
class RunPlan:
    """Runs for the day, the deliveries left for direct trips and the checker's report."""

    runs: tuple[Run, ...]
    direct: tuple[Unplanned, ...]
    problem: RoutingProblem  # in seconds from the shift start; stop i is deliveries[i - 1]
    routes: tuple[tuple[int, ...], ...]  # the runs as stop indices, for the checker
    report: CheckReport


@dataclass(frozen=True)
class RoadTravel:
    """Road travel estimate: great-circle km x circuity, driven at a van speed (km/h)."""

    speed_kmh: float = 50.0
    circuity: float = 1.3

    def km(self, a: LatLon, b: LatLon) -> float:
        """Road kilometres between two (lat, lon) points."""
        return great_circle_km(a[0], a[1], b[0], b[1]) * self.circuity

    def hours(self, a: LatLon, b: LatLon) -> float:
        """Driving hours between two (lat, lon) points."""
        return self.km(a, b) / self.speed_kmh


def plan_runs(
    depot: LatLon | object,
    deliveries: Sequence[Delivery],
    vans: Vans,
    travel_hours: PairFunction | np.ndarray,
    *,
    distance_km: PairFunction | np.ndarray | None = None,
    size_loads: Mapping[SizeClass, int] = DEFAULT_SIZE_LOADS,
    stop: StoppingCriterion | None = None,
    seed: int = 0,
) -> RunPlan:
    """Plan the vans' delivery runs so every delivery made arrives inside its window.

    Parameters
    ----------
    depot
        ``(lat, lon)`` or any record with ``lat``/``lon`` attributes (e.g. ``inventory.domain.Depot``).
    deliveries
        The day's deliveries; ``latest`` comes from each dispatch's deadline.
    vans
        Fleet size, capacity (load units) and shift; runs leave at ``shift_start`` at the
        earliest and are back by ``shift_end``.
    travel_hours
        Driving hours between two (lat, lon) points, as a callable or an ``(n+1, n+1)`` matrix
        (row/column 0 the depot, then ``deliveries`` in order); e.g. :class:`RoadTravel`.
    distance_km
        Same forms; the runs minimise total km when given, else total driving time.
    size_loads
        Load units per size class, used when a delivery has no explicit ``load``.
    stop
        Solver stopping criterion; default :data:`DEFAULT_STOP_SECONDS` or
        :data:`NO_IMPROVEMENT_ITERATIONS` offspring in a row without improvement.
    seed
        Solver seed.

    Returns
    -------
    RunPlan
        Runs with their stop times, the deliveries left for direct trips with a reason, and the
        independent checker's report (always feasible).
    """
    origin, horizon = _shift_seconds(vans)
    points = [_latlon(depot), *(_check_delivery(d) for d in deliveries)]
    n = len(points)
    hours = _matrix("travel_hours", travel_hours, points)
    duration = np.ceil(np.round(hours * 3600.0, 6)).astype(np.int64)
    km = None if distance_km is None else _matrix("distance_km", distance_km, points)
    distance = duration if km is None else np.rint(km * 1000.0).astype(np.int64)  # metres
    windows = np.zeros((n, 2), dtype=np.int64)
    windows[0] = (0, horizon)
    service = np.zeros(n, dtype=np.int64)
    demand = np.zeros(n, dtype=np.int64)
    for i, d in enumerate(deliveries, start=1):
        early = _seconds(d.earliest, origin, d.delivery_id, "earliest")
        late = _seconds(d.latest, origin, d.delivery_id, "latest")
        windows[i] = (min(max(early, 0), horizon), max(min(late, horizon), -1))
        service[i] = math.ceil(d.service_minutes * 60)
        demand[i] = d.load if d.load is not None else size_loads[d.size_class]
    reasons = _unreachable(deliveries, windows, duration, service, demand, vans.capacity, horizon)
    windows[:, 1] = np.maximum(windows[:, 1], windows[:, 0])  # keep the problem well formed
    prize = np.full(n, 10 * int(distance.max(initial=0)) + 1_000, dtype=np.int64)
    problem = RoutingProblem(
        distance=distance,
        duration=duration,
        demand=demand[:, None],
        capacity=(vans.capacity,),
        time_windows=windows,
        service=service,
        num_vehicles=vans.count,
        required=np.zeros(n, dtype=bool),
        prize=prize,
        names=("depot", *(d.delivery_id for d in deliveries)),
    )
    reachable = [i for i in range(1, n) if i not in reasons]
    routes: list[list[int]] = []
    if reachable and vans.count > 0:
        sub, index = _subproblem(problem, reachable)
        found = solve(sub, stop or default_stop(), seed=seed)
        routes = [[index[s] for s in route] for route in found.routes]
    routes = _repair(problem, routes, reasons)
    report = check(problem, routes)
    if not report.feasible:  # pragma: no cover - _repair guarantees this
        raise AssertionError(f"run plan failed the checker:\n{report.summary()}")
    planned = {s for r in routes for s in r}
    for i in reachable:
        if i not in planned:
            reasons.setdefault(i, "no van run can reach it on time (fleet, capacity or windows)")
    direct = tuple(Unplanned(deliveries[i - 1].delivery_id, reasons[i]) for i in sorted(reasons))
    runs = tuple(
        _run(problem, van, route, deliveries, vans.shift_start, km) for van, route in enumerate(routes)
    )
    return RunPlan(runs, direct, problem, tuple(tuple(r) for r in routes), report)


def _shift_seconds(vans: Vans) -> tuple[datetime, int]:
    if vans.count < 0:
        raise RunPlanningError(f"vans.count must be >= 0, got {vans.count}")
    if vans.capacity < 0:
        raise RunPlanningError(f"vans.capacity must be >= 0, got {vans.capacity}")
    try:
        horizon = (vans.shift_end - vans.shift_start).total_seconds()
    except TypeError as exc:
        raise RunPlanningError(
            "vans.shift_start and shift_end must both be timezone-aware (or both naive)"
        ) from exc
    if horizon <= 0:
        raise RunPlanningError(f"vans.shift_end {vans.shift_end} is not after shift_start {vans.shift_start}")
    return vans.shift_start, int(horizon)


def _latlon(place: LatLon | object) -> LatLon:
    if hasattr(place, "lat") and hasattr(place, "lon"):
        return float(place.lat), float(place.lon)  # type: ignore[attr-defined]
    lat, lon = place  # type: ignore[misc]
    return float(lat), float(lon)


def _check_delivery(d: Delivery) -> LatLon:
    if d.latest < d.earliest:
        raise RunPlanningError(f"delivery {d.delivery_id}: latest {d.latest} is before earliest {d.earliest}")
    if d.service_minutes < 0 or (d.load is not None and d.load < 0):
        raise RunPlanningError(f"delivery {d.delivery_id}: service_minutes and load must be >= 0")
    return _latlon(d.location)


def _seconds(when: datetime, origin: datetime, delivery_id: str, name: str) -> int:
    try:
        delta = (when - origin).total_seconds()
    except TypeError as exc:
        raise RunPlanningError(
            f"delivery {delivery_id}: {name} must be timezone-aware like the vans' shift (or both naive)"
        ) from exc
    return math.floor(delta) if name == "latest" else math.ceil(delta)


def _matrix(name: str, value: PairFunction | np.ndarray, points: list[LatLon]) -> np.ndarray:
    n = len(points)
    if callable(value):
        out = np.array(
            [
                [0.0 if i == j else float(value(a, b)) for j, b in enumerate(points)]
                for i, a in enumerate(points)
            ]
        ).reshape(n, n)
    else:
        out = np.asarray(value, dtype=float)
        if out.shape != (n, n):
            raise RunPlanningError(f"{name} matrix must be ({n}, {n}) (depot + deliveries), got {out.shape}")
    if not np.all(np.isfinite(out)) or (out < 0).any():
        raise RunPlanningError(f"{name} must be finite and non-negative")
    return out


def _unreachable(
    deliveries: Sequence[Delivery],
    windows: np.ndarray,
    duration: np.ndarray,
    service: np.ndarray,
    demand: np.ndarray,
    capacity: int,
    horizon: int,
) -> dict[int, str]:
    """Deliveries that even a van going straight there and back cannot make, with the reason."""
    reasons: dict[int, str] = {}
    for i in range(1, len(deliveries) + 1):
        arrive = int(duration[0, i])
        if demand[i] > capacity:
            reasons[i] = f"load {demand[i]} exceeds van capacity {capacity}"
        elif windows[i, 1] < 0:
            reasons[i] = "deadline is before the vans' shift starts"
        elif arrive > windows[i, 1]:
            reasons[i] = (
                f"a van leaving at shift start arrives {arrive // 60} min after it, after the deadline"
            )
        elif max(arrive, windows[i, 0]) + service[i] + duration[i, 0] > horizon:
            reasons[i] = "a van cannot serve it and be back before the shift ends"
    return reasons


def _subproblem(problem: RoutingProblem, keep: list[int]) -> tuple[RoutingProblem, list[int]]:
    """The problem restricted to the depot and ``keep``; index maps sub stops to original."""
    index = [0, *keep]
    ix = np.asarray(index)
    sub = RoutingProblem(
        distance=problem.distance[np.ix_(ix, ix)],
        duration=problem.duration[np.ix_(ix, ix)],
        demand=problem.demand[ix],
        capacity=problem.capacity,
        time_windows=problem.time_windows[ix],
        service=problem.service[ix],
        num_vehicles=problem.num_vehicles,
        required=problem.required[ix],
        prize=problem.prize[ix],
    )
    return sub, index


def _repair(problem: RoutingProblem, routes: list[list[int]], reasons: dict[int, str]) -> list[list[int]]:
    """Drop stops until the checker passes (only needed if the solver returns a violation)."""
    routes = [list(r) for r in routes if r]
    while True:
        report = check(problem, routes)
        if report.feasible:
            return routes
        v = report.violations[0]
        if v.kind is ViolationKind.LATE_ARRIVAL and v.stop is not None:
            victim = v.stop
        elif v.kind is ViolationKind.TOO_MANY_VEHICLES:
            victim = min(routes, key=len)[-1]
        elif v.route is not None:
            victim = routes[v.route][-1]
        else:
            raise AssertionError(f"cannot repair run plan: {v.message}")
        reasons.setdefault(victim, "no van run can reach it on time (fleet, capacity or windows)")
        routes = [[s for s in r if s != victim] for r in routes]
        routes = [r for r in routes if r]


def _run(
    problem: RoutingProblem,
    van: int,
    route: list[int],
    deliveries: Sequence[Delivery],
    origin: datetime,
    km: np.ndarray | None,
) -> Run:
    def at(seconds: int) -> datetime:
        return origin + timedelta(seconds=int(seconds))

    stops: list[RunStop] = []
    clock, here, load = 0, 0, 0
    for s in route:
        clock += int(problem.duration[here, s])
        arrival = clock
        clock = max(clock, int(problem.time_windows[s, 0]))
        start = clock
        clock += int(problem.service[s])
        d = deliveries[s - 1]
        stops.append(RunStop(d.delivery_id, at(arrival), at(start), at(clock), d.latest))
        load += int(problem.demand[s, 0])
        here = s
    back = clock + int(problem.duration[here, 0])
    path = [0, *route, 0]
    total_km = None if km is None else float(sum(km[a, b] for a, b in pairwise(path)))
    # Leave later by the wait at the first stop: same service starts, no idle van at the site.
    first = stops[0]
    delay = first.start - first.arrival
    stops[0] = RunStop(first.delivery_id, first.start, first.start, first.depart, first.deadline)
    return Run(van, origin + delay, tuple(stops), at(back), total_km, load)
