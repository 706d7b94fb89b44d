"""The default routing solver: PyVRP 0.12 (hybrid genetic search) on a :class:`RoutingProblem`.

PyVRP is pinned below 0.13 on purpose: 0.13 replaced the hybrid genetic search by an iterated
local search that, at the 10 s per instance we plan with, lands several times further from the
Solomon best-known distances on this machine (BENCHMARKS.md "Routing", "Which PyVRP").
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyvrp
import pyvrp.stop

from optimizer.routing.problem import RoutingProblem
from optimizer.routing.solution import RoutingSolution, earliest_schedule, route_cost
from optimizer.routing.stop import (
    FirstOf,
    MaxIterations,
    MaxRuntime,
    NoImprovement,
    StoppingCriterion,
)

_HORIZON = np.iinfo(np.int64).max


def to_pyvrp(problem: RoutingProblem) -> pyvrp.ProblemData:
    """Translate ``problem`` into PyVRP's ``ProblemData`` (stop ``i`` is location ``i``).

    The depot is location 0 with the shift as its window; client ``i - 1`` is stop ``i``.
    Coordinates only label the locations (PyVRP searches on the matrices).
    """
    n = problem.num_stops
    coords = problem.coordinates if problem.coordinates is not None else np.zeros((n, 2))
    windows, demand = problem.time_windows, problem.demand
    clients = [
        pyvrp.Client(
            x=float(coords[i, 0]),
            y=float(coords[i, 1]),
            delivery=[int(q) for q in demand[i]],
            service_duration=int(problem.service[i]),
            tw_early=int(windows[i, 0]),
            tw_late=int(windows[i, 1]),
            required=bool(problem.required[i]),
            prize=int(problem.prize[i]),
        )
        for i in range(1, n)
    ]
    start, end = problem.shift
    depot = pyvrp.Depot(x=float(coords[0, 0]), y=float(coords[0, 1]), tw_early=start, tw_late=end)
    vehicles = pyvrp.VehicleType(
        num_available=problem.num_vehicles,
        capacity=list(problem.capacity),
        tw_early=start,
        tw_late=end,
    )
    return pyvrp.ProblemData(clients, [depot], [vehicles], [problem.distance], [problem.duration])


def _pyvrp_stop(stop: StoppingCriterion) -> pyvrp.stop.StoppingCriterion:
    if isinstance(stop, MaxRuntime):
        return pyvrp.stop.MaxRuntime(stop.seconds)
    if isinstance(stop, NoImprovement):
        return pyvrp.stop.NoImprovement(stop.iterations)
    if isinstance(stop, MaxIterations):
        return pyvrp.stop.MaxIterations(stop.iterations)
    if isinstance(stop, FirstOf):
        return pyvrp.stop.MultipleCriteria([_pyvrp_stop(c) for c in stop.criteria])
    raise TypeError(f"not a stopping criterion: {stop!r}")


def solve(problem: RoutingProblem, stop: StoppingCriterion, *, seed: int = 0) -> RoutingSolution:
    """Solve ``problem`` with PyVRP until ``stop`` says so.

    Parameters
    ----------
    problem
        The VRPTW instance.
    stop
        When to stop, e.g. ``MaxRuntime(10)`` or ``FirstOf(MaxRuntime(5), NoImprovement(1_000))``.
    seed
        Seed of PyVRP's random stream; the same seed and iteration budget give the same routes.

    Returns
    -------
    RoutingSolution
        Best solution found; ``feasible`` is PyVRP's verdict that it breaks no constraint and
        visits every required stop.
    """
    began = time.perf_counter()
    if problem.num_customers == 0 or problem.num_vehicles == 0:
        n = problem.num_stops
        dropped = list(range(1, n))
        return RoutingSolution(
            [],
            0.0,
            np.full(n, -1),
            np.full(n, -1),
            [],
            not problem.required[1:].any(),
            "pyvrp",
            time.perf_counter() - began,
            dropped,
        )
    result = pyvrp.solve(to_pyvrp(problem), _pyvrp_stop(stop), seed=seed, collect_stats=False)
    best = result.best
    routes = [[int(v) for v in route.visits()] for route in best.routes()]  # location = stop
    routes = [r for r in routes if r]
    visited = {s for r in routes for s in r}
    dropped = [s for s in range(1, problem.num_stops) if s not in visited]
    arrival, start, ends = earliest_schedule(problem, routes)
    feasible = bool(best.is_feasible()) and not any(problem.required[s] for s in dropped)
    return RoutingSolution(
        routes=routes,
        cost=route_cost(problem, routes) / problem.scale,
        arrival=arrival,
        start=start,
        route_end=ends,
        feasible=feasible,
        solver="pyvrp",
        seconds=time.perf_counter() - began,
        dropped=dropped,
    )


def _solve_seed(args: tuple[RoutingProblem, StoppingCriterion, int]) -> RoutingSolution:
    problem, stop, seed = args
    return solve(problem, stop, seed=seed)


def solve_seeds(problem: RoutingProblem, stop: StoppingCriterion, *, seed: int = 0,
                seeds: int = 1) -> RoutingSolution:
    """Run ``seeds`` independent PyVRP searches (seeds ``seed .. seed + seeds - 1``) side by side in
    worker processes, each under ``stop``, and keep the best: feasible first, then lowest cost, then
    lowest seed. With a wall-clock stop this uses ``seeds`` cores for the same elapsed time; the
    search is sensitive to its seed (see BENCHMARKS.md "Routing"), so more cores buy quality."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    if seeds == 1:
        return solve(problem, stop, seed=seed)
    began = time.perf_counter()
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=seeds, mp_context=context) as pool:
        found = list(pool.map(_solve_seed, [(problem, stop, seed + k) for k in range(seeds)]))
    best = min(enumerate(found), key=lambda kv: (not kv[1].feasible, kv[1].cost, kv[0]))[1]
    return dataclasses.replace(best, seconds=time.perf_counter() - began)
