"""Solomon file I/O: our reader against ``vrplib``, reference solutions, malformed files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import vrplib
from hypothesis import given
from hypothesis import strategies as st

from optimizer.routing import check, dimacs_matrix
from optimizer.routing.solomon import (
    SolomonFormatError,
    read_bks,
    read_sol,
    read_vrp,
    write_sol,
)

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = ["C101", "R101", "RC101"]


@pytest.mark.parametrize("name", REFERENCE)
def test_reader_matches_vrplib(name: str) -> None:
    ours = read_vrp(FIXTURES / f"{name}.vrp")
    theirs = vrplib.read_instance(str(FIXTURES / f"{name}.vrp"))
    assert ours.name == name
    assert ours.capacity == theirs["capacity"] and ours.num_vehicles == theirs["vehicles"]
    np.testing.assert_array_equal(ours.coordinates, theirs["node_coord"])
    np.testing.assert_array_equal(ours.demand, theirs["demand"])
    np.testing.assert_array_equal(ours.time_windows, theirs["time_window"])
    assert ours.service[0] == 0 and np.all(ours.service[1:] == theirs["service_time"])


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_solution_passes_checker_with_its_stated_cost(name: str) -> None:
    problem = read_vrp(FIXTURES / f"{name}.vrp").to_problem()
    solution = read_sol(FIXTURES / f"{name}.sol")
    report = check(problem, solution.routes)
    assert report.feasible, report.summary()
    assert report.cost_units == round(solution.cost * 10)
    assert report.num_routes == read_bks(FIXTURES / "bks.csv")[name].routes


def test_reference_solution_breaks_when_tampered() -> None:
    problem = read_vrp(FIXTURES / "R101.vrp").to_problem()
    routes = read_sol(FIXTURES / "R101.sol").routes
    routes[0] = list(reversed(routes[0]))  # R101 windows are tight: reversing makes stops late
    assert not check(problem, routes).feasible


def test_dimacs_distance_is_truncated_to_one_decimal() -> None:
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [0.3, 0.0], [3.0, 4.0]])
    m = dimacs_matrix(coords, scale=10)
    assert m[0, 1] == 14  # sqrt(2) = 1.414 -> 1.4
    assert m[0, 2] == 3  # 0.3 exactly (binary round-off must not give 0.2)
    assert m[0, 3] == 50 and m[3, 0] == 50


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=2, max_size=12))
def test_dimacs_matrix_matches_scalar_formula(points: list[tuple[int, int]]) -> None:
    m = dimacs_matrix(np.asarray(points, dtype=float), scale=10)
    for i, (xi, yi) in enumerate(points):
        for j, (xj, yj) in enumerate(points):
            # integer arithmetic: floor(10 * sqrt(d2)) = isqrt(100 * d2)
            assert m[i, j] == math.isqrt(100 * ((xi - xj) ** 2 + (yi - yj) ** 2))


def test_sol_round_trip(tmp_path: Path) -> None:
    routes = [[3, 1], [], [2]]
    write_sol(tmp_path / "x.sol", routes, 123.4)
    back = read_sol(tmp_path / "x.sol")
    assert back.routes == [[3, 1], [2]] and back.cost == 123.4
    assert (tmp_path / "x.sol").read_text().splitlines()[-1] == "Cost 123.4"


def test_bks_reader() -> None:
    bks = read_bks(FIXTURES / "bks.csv")
    assert set(bks) == set(REFERENCE)
    assert bks["C101"].cost == 827.3 and bks["C101"].routes == 10


def test_tiny_instance_reads_with_depot_first() -> None:
    inst = read_vrp(FIXTURES / "tiny.vrp")
    problem = inst.to_problem()
    assert problem.num_stops == 5 and problem.capacity == (10,)
    assert problem.distance[0, 1] == 50 and problem.service.tolist() == [0, 10, 10, 10, 10]


def test_malformed_fixture_names_the_line() -> None:
    with pytest.raises(SolomonFormatError, match=r"malformed\.vrp:24: expected a number, got 'zero'"):
        read_vrp(FIXTURES / "malformed.vrp")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("2 4\n", "2 4 4\n"), r":16: DEMAND_SECTION rows need 2 numbers, got 3"),
        (("CAPACITY : 10", "CAPACITY : ten"), r":5: expected an integer, got 'ten'"),
        (("5 0 50\n", "5 60 50\n"), r":25: node 5 has earliest 60 after latest 50"),
        (("5 0 10\n", ""), r"NODE_COORD_SECTION must list nodes 1..5; missing \[5\]"),
        (("CAPACITY : 10\n", ""), r"missing header field CAPACITY"),
        (("EUC_2D", "EXPLICIT"), r":7: only EUC_2D distances are supported"),
        (("DEMAND_SECTION", "DEMANDS_SECTION"), r":14: unknown section DEMANDS_SECTION"),
    ],
)
def test_malformed_variants_give_clear_errors(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = (FIXTURES / "tiny.vrp").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.vrp"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(SolomonFormatError, match=message):
        read_vrp(bad)


def test_malformed_sol_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sol"
    bad.write_text("Route #1: 1 2\nRoute #2: 3 x\nCost 10\n")
    with pytest.raises(SolomonFormatError, match=r"bad\.sol:2: expected an integer, got 'x'"):
        read_sol(bad)
