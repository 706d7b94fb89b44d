"""OR-Tools routing (guided local search) on a :class:`RoutingProblem`, kept for comparison.

Same interface as :func:`optimizer.routing.pyvrp_solver.solve`. The time dimension carries
``service[i] + duration[i, j]`` per arc with slack for waiting; one capacity dimension per load
dimension; optional stops get a disjunction whose penalty is their prize.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer.routing.problem import RoutingProblem
from optimizer.routing.solution import RoutingSolution, earliest_schedule, route_cost
from optimizer.routing.stop import (
    MaxIterations,
    MaxRuntime,
    NoImprovement,
    StoppingCriterion,
    flatten,
)

_DEFAULT_SECONDS = 10.0


def solve_ortools(problem: RoutingProblem, stop: StoppingCriterion, *, seed: int = 0) -> RoutingSolution:
    """Solve ``problem`` with OR-Tools' routing library and guided local search.

    Parameters
    ----------
    problem
        The VRPTW instance.
    stop
        ``MaxRuntime`` maps to the search time limit, ``MaxIterations`` to a solution limit and
        ``NoImprovement`` to a callback that ends the search after that many solutions without a
        better cost. Without a ``MaxRuntime`` the search is capped at 10 s.
    seed
        Accepted for interface parity; OR-Tools' local search is deterministic for a time budget
        on an idle machine, so the seed is not used.

    Returns
    -------
    RoutingSolution
        Best solution found; ``feasible`` is False when OR-Tools found none (then no routes).
    """
    del seed
    began = time.perf_counter()
    n = problem.num_stops
    if problem.num_customers == 0 or problem.num_vehicles == 0:
        return _empty(problem, began)
    vehicles = problem.num_vehicles
    manager = pywrapcp.RoutingIndexManager(n, vehicles, 0)
    model = pywrapcp.RoutingModel(manager)

    dist = problem.distance.tolist()
    travel = (problem.duration + problem.service[:, None]).tolist()

    def arc_cost(i: int, j: int) -> int:
        return dist[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def arc_time(i: int, j: int) -> int:
        return travel[manager.IndexToNode(i)][manager.IndexToNode(j)]

    cost_cb = model.RegisterTransitCallback(arc_cost)
    model.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    time_cb = model.RegisterTransitCallback(arc_time)
    start, end = problem.shift
    model.AddDimension(time_cb, end, end, False, "time")
    time_dim = model.GetDimensionOrDie("time")
    windows = problem.time_windows
    for node in range(1, n):
        time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(windows[node, 0]), int(windows[node, 1]))
    for v in range(vehicles):
        time_dim.CumulVar(model.Start(v)).SetRange(start, end)
        time_dim.CumulVar(model.End(v)).SetRange(start, end)
    for k, cap in enumerate(problem.capacity):
        column = problem.demand[:, k].tolist()
        load_cb = model.RegisterUnaryTransitCallback(lambda i, column=column: column[manager.IndexToNode(i)])
        model.AddDimensionWithVehicleCapacity(load_cb, 0, [cap] * vehicles, True, f"load{k}")
    for node in range(1, n):
        if not problem.required[node]:
            model.AddDisjunction([manager.NodeToIndex(node)], int(problem.prize[node]))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    leaves = flatten(stop)
    seconds = min((c.seconds for c in leaves if isinstance(c, MaxRuntime)), default=_DEFAULT_SECONDS)
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    limits = [c.iterations for c in leaves if isinstance(c, MaxIterations)]
    if limits:
        params.solution_limit = min(limits)
    patience = [c.iterations for c in leaves if isinstance(c, NoImprovement)]
    if patience:
        _stop_without_improvement(model, min(patience))

    assignment = model.SolveWithParameters(params)
    if assignment is None:
        return _empty(problem, began, feasible=False)
    routes: list[list[int]] = []
    for v in range(vehicles):
        index, route = model.Start(v), []
        index = assignment.Value(model.NextVar(index))
        while not model.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(model.NextVar(index))
        if route:
            routes.append(route)
    visited = {s for r in routes for s in r}
    dropped = [s for s in range(1, n) if s not in visited]
    arrival, begin, ends = earliest_schedule(problem, routes)
    return RoutingSolution(
        routes=routes,
        cost=route_cost(problem, routes) / problem.scale,
        arrival=arrival,
        start=begin,
        route_end=ends,
        feasible=not any(problem.required[s] for s in dropped),
        solver="ortools",
        seconds=time.perf_counter() - began,
        dropped=dropped,
    )


def _stop_without_improvement(model: pywrapcp.RoutingModel, patience: int) -> None:
    """End the search after ``patience`` consecutive solutions that do not improve the best."""
    state = {"best": None, "since": 0}

    def on_solution() -> None:
        cost = model.CostVar().Value()
        if state["best"] is None or cost < state["best"]:
            state["best"], state["since"] = cost, 0
        else:
            state["since"] += 1
            if state["since"] >= patience:
                model.solver().FinishCurrentSearch()

    model.AddAtSolutionCallback(on_solution)


def _empty(problem: RoutingProblem, began: float, feasible: bool | None = None) -> RoutingSolution:
    n = problem.num_stops
    dropped = list(range(1, n))
    if feasible is None:
        feasible = not any(problem.required[s] for s in dropped)
    return RoutingSolution(
        [], 0.0, np.full(n, -1), np.full(n, -1), [], feasible, "ortools", time.perf_counter() - began, dropped
    )
