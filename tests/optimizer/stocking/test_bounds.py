"""Planner minimum / maximum stock as solver bounds: every plan keeps to them, loose bounds
change nothing, and a brute-force enumeration of the bounded box confirms the plan's cost."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.stocking import Exact, solve
from optimizer.stocking.bounds import NO_MAX, LevelBounds
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.result import classes_met
from tests.optimizer.stocking.fixtures import random_problem


def test_from_limits_maps_ids_and_refuses_unknowns():
    pr = random_problem(1, n_parts=3, n_depots=2)
    b = LevelBounds.from_limits(pr.part_ids, pr.location_ids,
                                {("P1", "D2"): (2, 5), ("P0", "HQ"): (None, 0),
                                 ("P2", "D1"): (1, None)})
    assert b.lower[1, 2] == 2 and b.upper[1, 2] == 5
    assert b.upper[0, 0] == 0 and b.lower[0, 0] == 0
    assert b.lower[2, 1] == 1 and b.upper[2, 1] == NO_MAX
    assert b.lower.sum() == 3
    with pytest.raises(ValueError, match="unknown part 'P9'"):
        LevelBounds.from_limits(pr.part_ids, pr.location_ids, {("P9", "HQ"): (1, None)})
    with pytest.raises(ValueError, match="unknown location 'X'"):
        LevelBounds.from_limits(pr.part_ids, pr.location_ids, {("P0", "X"): (1, None)})
    with pytest.raises(ValueError, match="minimum 3 above maximum 1"):
        LevelBounds.from_limits(pr.part_ids, pr.location_ids, {("P0", "HQ"): (3, 1)})


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 1000), data=st.data())
def test_the_plan_keeps_every_minimum_and_maximum(seed, data):
    pr = random_problem(seed, n_parts=4, n_depots=3)
    free = solve(pr)
    limits = {}
    for p in range(pr.n_parts):
        j = data.draw(st.integers(0, pr.n_locations - 1))
        level = int(free.levels[p, j])
        kind = data.draw(st.sampled_from(["min", "max", "both"]))
        if kind == "min":
            limits[(pr.part_ids[p], pr.location_ids[j])] = (level + 2, None)
        elif kind == "max":
            limits[(pr.part_ids[p], pr.location_ids[j])] = (None, max(level - 1, 0))
        else:
            limits[(pr.part_ids[p], pr.location_ids[j])] = (1, 1)
    bounds = LevelBounds.from_limits(pr.part_ids, pr.location_ids, limits)
    res = solve(pr, bounds=bounds)
    assert bounds.holds(res.levels), (res.levels, bounds.lower, bounds.upper)
    ev = evaluate(pr, res.levels)  # the reported service is the model's for these levels
    assert np.allclose(ev.class_on_time, res.class_on_time, equal_nan=True)
    assert res.investment == pytest.approx(float(pr.unit_cost @ res.levels.sum(axis=1)))


def test_loose_bounds_change_nothing():
    pr = random_problem(5, n_parts=4, n_depots=3)
    loose = LevelBounds(np.zeros((4, 4), dtype=np.int64), np.full((4, 4), NO_MAX, dtype=np.int64))
    assert np.array_equal(solve(pr).levels, solve(pr, bounds=loose).levels)


def test_a_maximum_of_zero_moves_the_stock_elsewhere():
    pr = random_problem(11, n_parts=3, n_depots=3)
    free = solve(pr)
    p, j = np.unravel_index(np.argmax(free.levels[:, 1:]), free.levels[:, 1:].shape)
    j += 1
    assert free.levels[p, j] > 0
    res = solve(pr, bounds=LevelBounds.from_limits(
        pr.part_ids, pr.location_ids, {(pr.part_ids[p], pr.location_ids[j]): (None, 0)}))
    assert res.levels[p, j] == 0
    assert res.levels[p].sum() > 0  # the part is still stocked, elsewhere


def test_exact_refuses_bounds():
    pr = random_problem(2, n_parts=2, n_depots=2)
    b = LevelBounds.from_limits(pr.part_ids, pr.location_ids, {("P0", "HQ"): (1, None)})
    with pytest.raises(ValueError, match="column generation"):
        solve(pr, method=Exact(), bounds=b)


def test_brute_force_over_the_bounded_box():
    """One part, HQ and two depots: every vector in the bounded box (levels up to 5) evaluated;
    the cheapest that meets the targets is a lower bound on the plan's cost, which must itself
    lie in the box and meet the targets."""
    pr = random_problem(21, n_parts=1, n_depots=2, targets=(0.7, 0.6))
    bounds = LevelBounds.from_limits(pr.part_ids, pr.location_ids,
                                     {("P0", "D1"): (2, None), ("P0", "D2"): (None, 1)})
    res = solve(pr, bounds=bounds)
    assert bounds.holds(res.levels)
    best = None
    for v in itertools.product(range(6), range(2, 6), range(2)):
        S = np.array([v], dtype=np.int64)
        ev = evaluate(pr, S)
        if classes_met(pr.class_target, ev.class_on_time).all():
            cost = float(pr.unit_cost[0] * S.sum())
            best = cost if best is None else min(best, cost)
    assert best is not None
    if res.feasible:
        assert res.investment >= best - 1e-6
        assert res.investment == pytest.approx(best)  # one part: the path finds the optimum
