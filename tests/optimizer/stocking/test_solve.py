import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.stocking.evaluate import evaluate
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
def test_frontier_investment_monotone(seed: int) -> None:
    pr = random_problem(seed, n_parts=3, targets=(0.7, 0.6))
    plan = solve(pr, polish=False)
    pts = [p for p in frontier(pr, plan) if p.label == "greedy"]
    inv = np.array([p.investment for p in pts])
    assert np.all(np.diff(inv) >= 0)
    assert pts[0].investment == 0.0
