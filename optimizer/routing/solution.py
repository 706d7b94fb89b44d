"""The result of a routing solver: routes, cost and per-stop times."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optimizer.routing.problem import RoutingProblem


@dataclass(frozen=True)
class RoutingSolution:
    """Routes found by a solver, in the problem's stop indices (depot 0 not listed).

    Attributes
    ----------
    routes
        One list of customer stop indices per used vehicle, in visiting order.
    cost
        Total travel cost in reported units (integer cost / ``problem.scale``).
    arrival, start
        Per-stop arrival and service-start times in the problem's time units (``start`` is
        ``max(arrival, earliest)``: waiting is allowed); ``-1`` for stops not visited.
    route_end
        Time each route is back at the depot.
    dropped
        Optional stops the solver left out.
    feasible
        The solver's own verdict; run :func:`optimizer.routing.checker.check` for an
        independent one.
    solver, seconds
        Which solver produced it and its wall-clock time in seconds.
    """

    routes: list[list[int]]
    cost: float
    arrival: np.ndarray
    start: np.ndarray
    route_end: list[int]
    feasible: bool
    solver: str
    seconds: float
    dropped: list[int] = field(default_factory=list)

    @property
    def num_routes(self) -> int:
        """Number of non-empty routes (vehicles used)."""
        return sum(1 for r in self.routes if r)


def earliest_schedule(
    problem: RoutingProblem, routes: list[list[int]]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Arrival and service-start time per stop when each vehicle leaves at the shift start.

    Returns ``(arrival, start, route_end)``; unvisited stops get ``-1``.
    """
    n = problem.num_stops
    arrival = np.full(n, -1, dtype=np.int64)
    start = np.full(n, -1, dtype=np.int64)
    ends: list[int] = []
    depart_depot = problem.shift[0]
    for route in routes:
        t, here = depart_depot, 0
        for stop in route:
            t += int(problem.duration[here, stop])
            arrival[stop] = t
            t = max(t, int(problem.time_windows[stop, 0]))
            start[stop] = t
            t += int(problem.service[stop])
            here = stop
        ends.append(t + int(problem.duration[here, 0]))
    return arrival, start, ends


def route_cost(problem: RoutingProblem, routes: list[list[int]]) -> int:
    """Integer travel cost of ``routes`` on the distance matrix (depot to depot)."""
    total = 0
    for route in routes:
        if route:
            path = np.asarray([0, *route, 0])
            total += int(problem.distance[path[:-1], path[1:]].sum())
    return total
