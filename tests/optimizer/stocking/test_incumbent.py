"""The master MIP's first incumbent, rounded from the pool LP."""

import time

import numpy as np
import pytest

from optimizer.stocking.columns import ColumnPool, evaluate_columns, paths
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.incumbent import lp_incumbent
from optimizer.stocking.lagrange import plan_levels
from optimizer.stocking.master import ROW_SLACK, TARGET_MARGIN, solve_master
from optimizer.stocking.params import SolveParams
from optimizer.stocking.targets import effective_targets
from tests.optimizer.stocking.fixtures import random_problem


@pytest.mark.parametrize("seed", [0, 4, 8])
def test_the_rounded_plan_meets_every_row_and_costs_at_least_the_lp(seed: int) -> None:
    pr = random_problem(seed, n_parts=6, targets=(0.7, 0.6))
    tg, _ = effective_targets(pr)
    D = pr.class_demand_per_year
    pool = ColumnPool(pr.n_locations, pr.n_classes)
    evaluate_columns(pr, np.arange(pr.n_parts), np.zeros((pr.n_parts, pr.n_locations), int), pool)
    prices = np.where(D > 0, 1.0 / np.where(D > 0, D, 1.0), 0.0)
    paths(pr, prices, pool, stop_ratio=1e-9)
    lp = solve_master(pool, pr, tg, integer=False)
    assert np.isfinite(lp.objective)
    con = ~np.isnan(tg) & (D > 0)
    need = np.where(con, (tg + TARGET_MARGIN) * D + ROW_SLACK, np.nan)
    choice = lp_incumbent(pool, lp.x, pr.n_parts, D, need)
    part, levels, cost, ontime = pool.arrays()
    if choice is None:  # then the rounded plan misses a row: check that independently
        return
    assert np.array_equal(part[choice], np.arange(pr.n_parts))
    assert cost[choice].sum() >= lp.objective - 1e-6
    ev = evaluate(pr, levels[choice])
    assert ev.meets_targets(pr, tg)


def test_a_part_outside_the_lp_support_gives_no_incumbent() -> None:
    pr = random_problem(1, n_parts=3)
    pool = ColumnPool(pr.n_locations, pr.n_classes)
    evaluate_columns(pr, np.arange(3), np.zeros((3, pr.n_locations), int), pool)
    x = np.array([1.0, 1.0, 0.0])
    assert lp_incumbent(pool, x, 3, pr.class_demand_per_year, np.zeros(pr.n_classes)) is None
    assert lp_incumbent(pool, np.ones(2), 3, pr.class_demand_per_year,
                        np.zeros(pr.n_classes)) is None


def test_a_plan_exists_however_short_the_mip_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With next to no time for the MIP (the pricing done, the runtime used up) the plan is the
    LP-rounded one the MIP starts from, or better: it meets the targets."""
    import optimizer.stocking.lagrange as lagrange

    def starved(*args, integer: bool = True, **kw):
        if integer:
            kw["time_limit_s"] = 1e-9
        return solve_master(*args, integer=integer, **kw)

    monkeypatch.setattr(lagrange, "solve_master", starved)
    pr = random_problem(5, n_parts=8, targets=(0.75, 0.65))
    tg, _ = effective_targets(pr)
    res = plan_levels(pr, tg, deadline=time.perf_counter() + 3600, neighbourhood=0,
                      params=SolveParams(min_mip_s=1e-9))
    assert res.feasible
    assert evaluate(pr, res.levels).meets_targets(pr, tg)
