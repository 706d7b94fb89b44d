import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.lagrange import budget_sweep
from optimizer.stocking.solve import baselines, frontier, solve
from tests.optimizer.stocking.fixtures import random_problem


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_feasible_and_not_cheaper_than_exact(seed: int) -> None:
    pr = random_problem(seed, n_parts=4, targets=(0.7, 0.6))
    g = solve(pr, "greedy")
    x = solve(pr, "exact")
    assert g.feasible and x.feasible
    for plan in (g, x):
        ev = evaluate(pr, plan.levels)
        assert ev.meets_targets(pr, plan.effective_target)
        assert plan.investment == pytest.approx(float(pr.unit_cost @ plan.levels.sum(axis=1)))
    assert g.investment >= x.investment - 1e-6
    assert x.gap is not None and x.gap <= 1e-6


def test_baselines_feasible_at_equal_targets_and_cost_more() -> None:
    pr = random_problem(5, n_parts=6, targets=(0.7, 0.6))
    plan = solve(pr)
    for b in baselines(pr, plan):
        assert b.feasible, b.name
        assert evaluate(pr, b.levels).meets_targets(pr, plan.effective_target)
        assert b.investment >= plan.investment - 1e-6


def test_budget_mode_respects_budget() -> None:
    pr = random_problem(6, n_parts=5, targets=(0.7, 0.6))
    full = solve(pr)
    half = solve(pr, budget=full.investment / 2)
    assert half.investment <= full.investment / 2 + 1e-6
    assert half.overall_on_time <= full.overall_on_time + 1e-9


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        solve(random_problem(0), "magic")


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_frontier_efficient_and_monotone(seed: int) -> None:
    pr = random_problem(seed, n_parts=3, targets=(0.7, 0.6))
    plan = solve(pr)
    pts = [p for p in frontier(pr, plan, points=6) if p.label == "budget"]
    inv = np.array([p.investment for p in pts])
    on = np.array([p.on_time for p in pts])
    assert np.all(np.diff(inv) >= 0) and np.all(np.diff(on) > 0)
    assert pts[0].investment == 0.0
    assert on[0] == pytest.approx(evaluate(pr, np.zeros_like(plan.levels)).overall_on_time)
    # the plan's own vectors are in the sweep's pool: a budget at or above the plan's
    # investment serves at least as much as the plan
    above = on[inv <= plan.investment * 1.25 + 1e-9][-1]
    assert above >= plan.overall_on_time - 1e-7


def test_budget_sweep_points_match_an_independent_evaluation() -> None:
    pr = random_problem(12, n_parts=5, targets=(0.7, 0.6))
    full = solve(pr)
    budgets = np.array([0.0, 0.3, 0.6, 1.0]) * full.investment
    pts = budget_sweep(pr, budgets)
    assert [p.budget for p in pts] == list(budgets)
    total = pr.class_demand_per_year.sum()
    for p in pts:
        assert p.investment <= p.budget + 1e-6
        assert p.investment == pytest.approx(float(pr.unit_cost @ p.levels.sum(axis=1)))
        ev = evaluate(pr, p.levels)
        assert p.on_time_demand / total == pytest.approx(ev.overall_on_time, abs=1e-7)
    assert all(b.on_time_demand >= a.on_time_demand * (1 - 1e-4) for a, b in zip(pts, pts[1:], strict=False))
