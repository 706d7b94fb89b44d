"""The independent checker on hand-made route sets, and against PyVRP's own evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import pyvrp
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.routing import RoutingProblem, ViolationKind, check
from optimizer.routing.pyvrp_solver import to_pyvrp


def line_problem(*, windows=None, capacity: int = 10, vehicles: int = 2) -> RoutingProblem:
    """Depot at x=0, customers 1..4 at x=1..4; distance = travel time = |dx|; demand 3 each."""
    x = np.arange(5)
    matrix = np.abs(x[:, None] - x[None, :])
    return RoutingProblem(
        distance=matrix,
        duration=matrix,
        demand=np.array([0, 3, 3, 3, 3]),
        capacity=(capacity,),
        time_windows=np.array(windows or [[0, 30], [0, 20], [0, 20], [0, 20], [0, 20]]),
        service=np.array([0, 1, 1, 1, 1]),
        num_vehicles=vehicles,
    )


def test_feasible_route_set_has_no_violation_and_exact_cost() -> None:
    report = check(line_problem(), [[1, 2], [3, 4]])
    assert report.feasible, report.summary()
    # route 1: 0-1-2-0 = 1+1+2 = 4; route 2: 0-3-4-0 = 3+1+4 = 8
    assert report.cost_units == 12 and report.cost == 12.0
    assert report.route_loads == [(6,), (6,)]
    # route 1 back at 2 + 1 + 1 + 2 = 6; route 2: stop 3 at 3, stop 4 at 5, back at 6 + 4 = 10
    assert report.route_ends == [6, 10]


def test_waiting_for_a_window_is_allowed() -> None:
    windows = [[0, 30], [10, 12], [0, 20], [0, 20], [0, 20]]
    report = check(line_problem(windows=windows), [[1, 2, 3, 4]])
    assert report.feasible is False  # capacity 12 > 10 ...
    assert report.kinds() == {ViolationKind.OVER_CAPACITY}  # ... but the wait itself is fine
    # waits at stop 1 until 10, serves to 11; stops 2, 3, 4 at 12, 14, 16; back at 17 + 4
    assert report.route_ends == [21]


def test_late_arrival_is_reported_with_its_stop_and_excess() -> None:
    windows = [[0, 30], [0, 20], [0, 20], [0, 20], [0, 2]]
    report = check(line_problem(windows=windows), [[1, 2], [3, 4]])
    [v] = report.violations
    assert v.kind is ViolationKind.LATE_ARRIVAL and v.route == 1 and v.stop == 4
    assert v.excess == 3  # reached at 5, latest 2


def test_late_return_to_the_depot_is_reported() -> None:
    windows = [[0, 9], [0, 20], [0, 20], [0, 20], [0, 20]]
    report = check(line_problem(windows=windows), [[1, 2], [3, 4]])
    [v] = report.violations
    assert v.kind is ViolationKind.LATE_RETURN and v.route == 1 and v.excess == 1


def test_over_capacity_is_reported_per_route() -> None:
    report = check(line_problem(capacity=5), [[1, 2], [3, 4]])
    assert [(v.kind, v.route, v.excess) for v in report.violations] == [
        (ViolationKind.OVER_CAPACITY, 0, 1),
        (ViolationKind.OVER_CAPACITY, 1, 1),
    ]


def test_missed_stop_is_reported() -> None:
    report = check(line_problem(), [[1, 2], [3]])
    [v] = report.violations
    assert v.kind is ViolationKind.MISSED_STOP and v.stop == 4


def test_duplicate_stop_is_reported() -> None:
    report = check(line_problem(), [[1, 2, 3], [3, 4]])
    [v] = report.violations
    assert v.kind is ViolationKind.DUPLICATE_STOP and v.stop == 3 and v.excess == 1


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_unknown_stop_is_reported(bad: int) -> None:
    report = check(line_problem(), [[1, 2, bad], [3, 4]])
    assert [(v.kind, v.stop) for v in report.violations] == [(ViolationKind.UNKNOWN_STOP, bad)]


def test_too_many_vehicles_is_reported() -> None:
    report = check(line_problem(vehicles=2), [[1], [2], [3, 4]])
    [v] = report.violations
    assert v.kind is ViolationKind.TOO_MANY_VEHICLES and v.excess == 1


def test_every_violation_is_listed_not_just_the_first() -> None:
    windows = [[0, 5], [0, 20], [0, 20], [0, 20], [0, 1]]
    report = check(line_problem(windows=windows, capacity=5, vehicles=1), [[1, 1, 9], [4, 2]])
    assert report.kinds() == {
        ViolationKind.UNKNOWN_STOP,
        ViolationKind.DUPLICATE_STOP,
        ViolationKind.MISSED_STOP,
        ViolationKind.OVER_CAPACITY,
        ViolationKind.LATE_ARRIVAL,
        ViolationKind.LATE_RETURN,
        ViolationKind.TOO_MANY_VEHICLES,
    }


def test_optional_stops_may_be_left_out() -> None:
    problem = RoutingProblem(
        distance=np.ones((3, 3), int) - np.eye(3, dtype=int),
        duration=np.zeros((3, 3), int),
        demand=np.zeros(3, int),
        capacity=(1,),
        time_windows=np.array([[0, 9]] * 3),
        service=np.zeros(3, int),
        num_vehicles=1,
        required=np.array([True, True, False]),
        prize=np.array([0, 0, 5]),
    )
    report = check(problem, [[1]])
    assert report.feasible and report.dropped == [2]


# --- cross-check against PyVRP's own route evaluation (an independent implementation) ---


@st.composite
def problems_and_routes(draw: st.DrawFn) -> tuple[RoutingProblem, list[list[int]]]:
    n = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    coords = rng.integers(0, 50, size=(n, 2))
    windows = np.sort(rng.integers(0, 300, size=(n, 2)), axis=1)
    windows[0] = (0, int(rng.integers(100, 400)))
    problem = RoutingProblem.from_coordinates(
        coords,
        demand=np.r_[0, rng.integers(1, 6, n - 1)],
        capacity=int(rng.integers(5, 15)),
        time_windows=windows,
        service=np.r_[0, rng.integers(0, 20, n - 1)],
        num_vehicles=n,
        scale=10,
    )
    order = [int(i) for i in rng.permutation(np.arange(1, n))]
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 2, 1)), max_size=n - 2)))
    routes = [order[a:b] for a, b in zip([0, *cuts], [*cuts, n - 1], strict=True) if order[a:b]]
    return problem, routes


@settings(max_examples=60, deadline=None)
@given(problems_and_routes())
def test_checker_agrees_with_pyvrp_evaluation(case: tuple[RoutingProblem, list[list[int]]]) -> None:
    problem, routes = case
    data = to_pyvrp(problem)
    solution = pyvrp.Solution(data, [list(r) for r in routes])  # client location = stop index
    report = check(problem, routes)
    assert report.cost_units == solution.distance()
    assert report.feasible == solution.is_feasible()
    late = ViolationKind.LATE_ARRIVAL in report.kinds() or ViolationKind.LATE_RETURN in report.kinds()
    assert late == solution.has_time_warp()
    assert (ViolationKind.OVER_CAPACITY in report.kinds()) == solution.has_excess_load()
