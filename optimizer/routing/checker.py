"""Independent feasibility checker for VRPTW route sets.

It re-walks every route on the problem's own matrices with plain integer arithmetic and never
calls a solver's evaluation (nor the helpers in :mod:`optimizer.routing.solution`), so a solver bug
cannot hide behind its own bookkeeping. Every violation is listed, not just the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from optimizer.routing.problem import RoutingProblem


class ViolationKind(StrEnum):
    """What a route set got wrong."""

    UNKNOWN_STOP = "unknown_stop"  # an index outside 1..n-1 (the depot included)
    DUPLICATE_STOP = "duplicate_stop"  # a customer visited more than once
    MISSED_STOP = "missed_stop"  # a required customer not visited
    OVER_CAPACITY = "over_capacity"  # a route's load exceeds capacity in some dimension
    LATE_ARRIVAL = "late_arrival"  # service would start after the window's latest time
    LATE_RETURN = "late_return"  # back at the depot after the shift end
    TOO_MANY_VEHICLES = "too_many_vehicles"  # more non-empty routes than vehicles


@dataclass(frozen=True)
class Violation:
    """One broken constraint: ``route`` and ``stop`` locate it (None when not applicable)."""

    kind: ViolationKind
    route: int | None
    stop: int | None
    message: str
    excess: int = 0  # how far over, in the constraint's integer units


@dataclass(frozen=True)
class CheckReport:
    """The checker's verdict on a route set."""

    violations: list[Violation]
    cost_units: int  # integer travel cost on the distance matrix
    cost: float  # cost_units / problem.scale
    num_routes: int
    route_loads: list[tuple[int, ...]]
    route_ends: list[int]  # earliest return time per route (time units)
    visited: int
    dropped: list[int] = field(default_factory=list)  # optional stops left out (allowed)

    @property
    def feasible(self) -> bool:
        """True when no constraint is broken."""
        return not self.violations

    def kinds(self) -> set[ViolationKind]:
        """The distinct kinds of violation present."""
        return {v.kind for v in self.violations}

    def summary(self) -> str:
        """One line per violation (or 'feasible'), for logs and error messages."""
        if self.feasible:
            return f"feasible: {self.num_routes} routes, cost {self.cost:g}"
        return "\n".join(f"[{v.kind}] {v.message}" for v in self.violations)


def check(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> CheckReport:
    """Verify ``routes`` against every constraint of ``problem`` and recompute their cost.

    Parameters
    ----------
    problem
        The routing problem; stop 0 is the depot and routes list customers only.
    routes
        One sequence of customer stop indices per vehicle; empty routes are ignored.

    Returns
    -------
    CheckReport
        All violations found, the recomputed cost and per-route loads and return times.
    """
    n = problem.num_stops
    dist = problem.distance.tolist()
    dur = problem.duration.tolist()
    windows = problem.time_windows.tolist()
    service = problem.service.tolist()
    demand = problem.demand.tolist()
    capacity = problem.capacity
    shift_start, shift_end = int(windows[0][0]), int(windows[0][1])
    violations: list[Violation] = []
    seen: Counter[int] = Counter()
    cost = 0
    loads: list[tuple[int, ...]] = []
    ends: list[int] = []
    used = 0

    for r, raw in enumerate(routes):
        route = [int(s) for s in raw]
        if not route:
            continue
        used += 1
        load = [0] * len(capacity)
        here, clock = 0, shift_start
        for stop in route:
            if not 1 <= stop < n:
                violations.append(
                    Violation(
                        ViolationKind.UNKNOWN_STOP,
                        r,
                        stop,
                        f"route {r}: stop {stop} is not a customer (valid: 1..{n - 1})",
                    )
                )
                continue
            seen[stop] += 1
            cost += dist[here][stop]
            clock += dur[here][stop]
            early, late = windows[stop]
            if clock > late:
                violations.append(
                    Violation(
                        ViolationKind.LATE_ARRIVAL,
                        r,
                        stop,
                        f"route {r}: stop {problem.name(stop)} reached at {clock}, "
                        f"after its latest start {late}",
                        excess=clock - late,
                    )
                )
            clock = max(clock, early) + service[stop]
            for k, q in enumerate(demand[stop]):
                load[k] += q
            here = stop
        cost += dist[here][0]
        clock += dur[here][0]
        if clock > shift_end:
            violations.append(
                Violation(
                    ViolationKind.LATE_RETURN,
                    r,
                    None,
                    f"route {r}: back at the depot at {clock}, after the shift end {shift_end}",
                    excess=clock - shift_end,
                )
            )
        for k, (q, cap) in enumerate(zip(load, capacity, strict=True)):
            if q > cap:
                violations.append(
                    Violation(
                        ViolationKind.OVER_CAPACITY,
                        r,
                        None,
                        f"route {r}: load {q} exceeds capacity {cap} in dimension {k}",
                        excess=q - cap,
                    )
                )
        loads.append(tuple(load))
        ends.append(clock)

    for stop, count in sorted(seen.items()):
        if count > 1:
            violations.append(
                Violation(
                    ViolationKind.DUPLICATE_STOP,
                    None,
                    stop,
                    f"stop {problem.name(stop)} visited {count} times",
                    excess=count - 1,
                )
            )
    required = problem.required.tolist()
    dropped: list[int] = []
    for stop in range(1, n):
        if seen[stop] == 0:
            if required[stop]:
                violations.append(
                    Violation(
                        ViolationKind.MISSED_STOP,
                        None,
                        stop,
                        f"required stop {problem.name(stop)} is not visited",
                    )
                )
            else:
                dropped.append(stop)
    if used > problem.num_vehicles:
        violations.append(
            Violation(
                ViolationKind.TOO_MANY_VEHICLES,
                None,
                None,
                f"{used} routes use more than the {problem.num_vehicles} vehicles available",
                excess=used - problem.num_vehicles,
            )
        )
    return CheckReport(
        violations=violations,
        cost_units=cost,
        cost=cost / problem.scale,
        num_routes=used,
        route_loads=loads,
        route_ends=ends,
        visited=sum(1 for s in seen if seen[s] > 0),
        dropped=dropped,
    )
