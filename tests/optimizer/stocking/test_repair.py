"""Topping up a plan that misses its targets by a little, checked with the evaluation model."""

from __future__ import annotations

import numpy as np

from optimizer.design import build_design_problem, solve_design
from optimizer.stocking.evaluate import evaluate_parts
from optimizer.stocking.repair import repair_levels
from optimizer.stocking.targets import target_plan
from tests.optimizer.design.scenarios import stock_saving


def test_a_plan_one_unit_short_gets_the_cheapest_unit_back() -> None:
    dp = build_design_problem(stock_saving(n_parts=3))
    pr = dp.stocking
    aimed = target_plan(pr).aimed_at
    best = solve_design(dp, with_bound=False)
    assert evaluate_parts(pr, best.levels).meets_targets(pr, aimed)
    p, j = np.argwhere(best.levels > 0)[0]
    short = best.levels.copy()
    short[p, j] -= 1
    assert not evaluate_parts(pr, short).meets_targets(pr, aimed)
    fixed, met = repair_levels(pr, short, aimed, best.open)
    assert met and evaluate_parts(pr, fixed).meets_targets(pr, aimed)
    assert np.all(fixed >= short) and fixed.sum() == short.sum() + 1
    assert np.all(fixed[:, ~best.open] == 0)  # only open locations take units
    same, met = repair_levels(pr, best.levels, aimed, best.open)
    assert met and np.array_equal(same, best.levels)


def test_repair_gives_up_when_no_open_location_helps() -> None:
    dp = build_design_problem(stock_saving(n_parts=1))
    pr = dp.stocking
    aimed = target_plan(pr).aimed_at
    closed = np.zeros(pr.n_locations, dtype=bool)
    S, met = repair_levels(pr, np.zeros((1, pr.n_locations), dtype=np.int64), aimed, closed)
    assert not met and S.sum() == 0
