"""The ``MaxRuntime`` stop reaches inside a pricing pass (between path rounds of every chunk) and
the master problems, and a run stopped by it still returns a valid, flagged result."""

from __future__ import annotations

from functools import cache
from itertools import count

import numpy as np
import pytest

import optimizer.stocking.columns as columns
from optimizer.reach import build_reach
from optimizer.stocking import MaxRuntime, SolveParams, solve
from optimizer.stocking.columns import ColumnPool, marginal_paths, paths
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import build_problem
from optimizer.stocking.result import classes_met
from optimizer.travel import TravelNetwork
from scenarios.generator import generate
from tests.optimizer.stocking.fixtures import random_problem


def _prices(pr) -> np.ndarray:
    D = pr.class_demand_per_year
    return np.where(D > 0, 1.0 / np.where(D > 0, D, 1.0), 0.0)


def test_a_path_stops_at_the_round_where_the_clock_passes(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """With a clock that moves one second per look, ``stop_at`` 2.5 s ahead lets exactly three
    rounds start: the levels are those of a run limited to three rounds."""
    pr = random_problem(2, n_parts=6, targets=(0.8, 0.7))
    full = marginal_paths(pr, _prices(pr), ColumnPool(pr.n_locations, pr.n_classes),
                          stop_ratio=1e-12)
    three = marginal_paths(pr, _prices(pr), ColumnPool(pr.n_locations, pr.n_classes),
                           stop_ratio=1e-12, max_rounds=3)
    assert full.sum() > three.sum()  # the path is longer than three rounds
    ticks = count(1000)
    monkeypatch.setattr(columns, "wall_clock", lambda: float(next(ticks)))  # this module only
    cut = marginal_paths(pr, _prices(pr), ColumnPool(pr.n_locations, pr.n_classes),
                         stop_ratio=1e-12, stop_at=1002.5)
    assert np.array_equal(cut, three)


def test_every_chunk_checks_the_deadline() -> None:
    """A pricing pass whose deadline has passed leaves every chunk where it started: no step
    taken, no column added; without one, the same pass adds columns."""
    pr = random_problem(4, n_parts=9, targets=(0.8, 0.7))
    start = np.zeros((pr.n_parts, pr.n_locations), dtype=np.int64)
    pool = ColumnPool(pr.n_locations, pr.n_classes)
    S = paths(pr, _prices(pr), pool, stop_ratio=1e-9, chunk_parts=2, start=start,
              stop_at=0.0)
    assert np.array_equal(S, start) and len(pool) == 0
    S = paths(pr, _prices(pr), pool, stop_ratio=1e-9, chunk_parts=2, start=start)
    assert S.sum() > 0 and len(pool) > 0


@cache
def _generated():
    sc = generate(200, 8, 100, 5)
    return build_problem(sc, build_reach(sc, TravelNetwork(sc)))


def _usable(pr, res) -> bool:
    """Levels of the right shape with their own evaluation; True when they meet the shares
    aimed at (then with a bound), False when the shortfall is flagged (no bound, a message
    naming the stop)."""
    assert res.levels.shape == (pr.n_parts, pr.n_locations) and res.levels.min() >= 0
    assert np.allclose(res.class_on_time, evaluate(pr, res.levels).class_on_time,
                       equal_nan=True)
    if classes_met(res.aimed_at, res.class_on_time).all() and res.bound is not None:
        return True
    assert not res.feasible and res.bound is None
    assert any("MaxRuntime" in m for m in res.stats.messages)
    return False


def test_a_tiny_runtime_on_a_generated_problem_stops_early() -> None:
    pr = _generated()
    params = SolveParams(min_mip_s=0.5)
    free = solve(pr, params=params)
    assert free.stats.stop_reason == "completed" and free.stats.pricing_rounds >= 1
    assert _usable(pr, free)
    for seconds in (1e-3, 0.2):
        cut = solve(pr, stop=MaxRuntime(seconds), params=params)
        assert cut.stats.stop_reason == "max runtime" and cut.stats.out_of_time
        assert cut.stats.pricing_rounds < free.stats.pricing_rounds
        assert cut.stats.columns < free.stats.columns
        _usable(pr, cut)


def test_the_default_stop_waits_for_a_first_plan() -> None:
    """``MaxRuntime(s, first_plan=True)`` (the default stop's) lets the rounds that make the
    pool meet the targets finish: a tiny limit still gives a plan meeting them, with a bound,
    and no more pricing rounds than the free run; the strict limit gives a flagged one."""
    from optimizer.stocking.stop import DEFAULT_STOP, waits_for_first_plan

    assert waits_for_first_plan(DEFAULT_STOP)
    assert not waits_for_first_plan(MaxRuntime(5.0))
    pr = _generated()
    params = SolveParams(min_mip_s=0.5)
    soft = solve(pr, stop=MaxRuntime(1e-3, first_plan=True), params=params)
    assert _usable(pr, soft)  # meets the shares aimed at, with a bound
    assert soft.stats.stop_reason == "max runtime"
    strict = solve(pr, stop=MaxRuntime(1e-3), params=params)
    assert not _usable(pr, strict)


def test_a_deadline_that_waits_for_a_first_plan_stops_waiting_when_rounds_stop_helping() -> None:
    """Caps no plan can meet the targets within: the rounds stop closing the shortfall, so a
    first-plan deadline applies after all and the solve runs fewer rounds than without one."""
    from dataclasses import replace

    pr = _generated()
    tight = replace(pr, cap_units=np.full(pr.n_locations, 40.0))
    params = SolveParams(min_mip_s=0.5)
    free = solve(tight, params=params, stop=MaxRuntime(3600, first_plan=True))
    soft = solve(tight, params=params, stop=MaxRuntime(1e-3, first_plan=True))
    assert not free.feasible and free.stats.pricing_rounds > soft.stats.pricing_rounds >= 1
    assert soft.stats.stop_reason == "max runtime"
