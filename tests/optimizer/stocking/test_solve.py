"""The solver API (``optimizer.stocking.solve``): objective, methods, stop rules, parameters,
the result, the analysis extras (frontier, baselines) and the package's exports."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizer.stocking as stocking
from optimizer.stocking import (
    ColumnGeneration,
    Exact,
    FirstOf,
    GapReached,
    MaxRuntime,
    Objective,
    SolveParams,
    make_plan,
    method_named,
    solve,
)
from optimizer.stocking.analysis import baselines, frontier
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.lagrange import budget_sweep
from optimizer.stocking.stop import DEFAULT_GAP, mip_gap, runtime_limit
from tests.optimizer.stocking.fixtures import random_problem


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_column_generation_feasible_and_not_cheaper_than_exact(seed: int) -> None:
    pr = random_problem(seed, n_parts=4, targets=(0.7, 0.6))
    g = solve(pr)
    x = solve(pr, method=Exact())
    assert g.stats.method == "column-generation" and x.stats.method == "exact"
    for res in (g, x):
        assert res.feasible
        ev = evaluate(pr, res.levels)
        assert ev.meets_targets(pr, res.aimed_at)
        assert np.allclose(ev.class_on_time, res.class_on_time, equal_nan=True, atol=1e-9)
        assert res.investment == pytest.approx(float(pr.unit_cost @ res.levels.sum(axis=1)))
        assert res.gap is not None and res.bound is not None
        assert res.gap == pytest.approx(max(0.0, (res.investment - res.bound) / res.investment))
    assert g.investment >= x.investment - 1e-6
    assert g.bound_scope == "column pool" and x.bound_scope == "enumerated box"
    assert x.gap <= 1e-6


def test_result_carries_run_statistics_and_a_plan_record() -> None:
    pr = random_problem(4, n_parts=5, targets=(0.7, 0.6))
    res = solve(pr, Objective(), stop=MaxRuntime(60) | GapReached(1e-4))
    st_ = res.stats
    assert st_.runtime_s > 0 and st_.columns > pr.n_parts and "start" in st_.timings
    assert st_.cluster == "in-process" and st_.workers == 1 and not st_.out_of_time
    plan = make_plan(pr, res)
    assert np.array_equal(plan.levels, res.levels) and plan.investment == res.investment
    assert plan.method == "column-generation" and plan.bound is None  # pool bound: a note only
    assert any("column pool LP bound" in n for n in plan.notes)


def test_explicit_targets_are_met_and_lower_ones_cost_less() -> None:
    pr = random_problem(7, n_parts=5, targets=(0.8, 0.7))
    high = solve(pr, Objective(targets=np.array([0.8, 0.7])))
    low = solve(pr, Objective(targets=np.array([0.5, np.nan])))
    assert evaluate(pr, low.levels).class_on_time[0] >= 0.5 - 1e-9
    assert np.isnan(low.aimed_at[1])
    assert low.investment <= high.investment + 1e-6


def test_baselines_feasible_at_equal_targets_and_cost_more() -> None:
    pr = random_problem(5, n_parts=6, targets=(0.7, 0.6))
    res = solve(pr)
    for b in baselines(pr, res.aimed_at):
        assert b.feasible, b.name
        assert evaluate(pr, b.levels).meets_targets(pr, res.aimed_at)
        assert b.investment >= res.investment - 1e-6


def test_budget_mode_respects_budget() -> None:
    pr = random_problem(6, n_parts=5, targets=(0.7, 0.6))
    full = solve(pr)
    half = solve(pr, Objective(budget=full.investment / 2))
    assert half.investment <= full.investment / 2 + 1e-6 and half.feasible
    assert half.overall_on_time <= full.overall_on_time + 1e-9
    assert half.bound is None and half.gap is None and np.all(np.isnan(half.aimed_at))


def test_bad_objectives_methods_and_params_are_refused() -> None:
    pr = random_problem(0)
    with pytest.raises(ValueError, match="not both"):
        Objective(targets=np.array([0.5, 0.5]), budget=10.0)
    with pytest.raises(ValueError, match="budget must be >= 0"):
        Objective(budget=-1.0)
    with pytest.raises(ValueError, match="targets has 3 entries"):
        solve(pr, Objective(targets=np.array([0.5, 0.5, 0.5])))
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        method_named("magic")
    with pytest.raises(TypeError, match="method must be"):
        solve(pr, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_pairs"):
        SolveParams(chunk_pairs=0)
    with pytest.raises(ValueError, match="margin"):
        Exact(margin=-1)


def test_greedy_is_a_deprecated_name_of_column_generation() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert method_named("greedy") == ColumnGeneration()
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert method_named("exact") == Exact()


def test_stop_criteria_combine() -> None:
    stop = MaxRuntime(30) | GapReached(1e-3) | MaxRuntime(10)
    assert isinstance(stop, FirstOf)
    assert runtime_limit(stop) == 10 and mip_gap(stop) == 1e-3
    assert runtime_limit(GapReached(0.01)) is None and mip_gap(MaxRuntime(5)) == DEFAULT_GAP
    with pytest.raises(ValueError):
        MaxRuntime(0)
    with pytest.raises(ValueError):
        GapReached(1.5)
    with pytest.raises(TypeError):
        FirstOf(MaxRuntime(1), 3)  # type: ignore[arg-type]


def test_a_used_up_runtime_gives_a_flagged_plan() -> None:
    """Past the limit the start pass stops before its first path round and no pricing round
    starts: the plan is the path levels so far, flagged short of the targets, with no bound."""
    pr = random_problem(9, n_parts=6, targets=(0.7, 0.6))
    res = solve(pr, stop=MaxRuntime(1e-6), params=SolveParams(min_mip_s=5.0))
    assert res.stats.out_of_time and res.stats.stop_reason == "max runtime"
    assert res.stats.pricing_rounds == 0
    assert not res.feasible and res.bound is None and res.gap is None
    assert any("MaxRuntime" in m for m in res.stats.messages)
    assert np.array_equal(res.class_on_time, evaluate(pr, res.levels).class_on_time)


def test_the_params_reach_the_solver() -> None:
    pr = random_problem(3, n_parts=6, targets=(0.7, 0.6))
    base = solve(pr, params=SolveParams(neighbourhood=0))
    more = solve(pr, params=SolveParams(neighbourhood=3))
    assert "neighbourhood1" not in base.stats.timings and "neighbourhood1" in more.stats.timings
    assert more.investment <= base.investment + 1e-6  # the MIP keeps its incumbent


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_frontier_efficient_and_monotone(seed: int) -> None:
    pr = random_problem(seed, n_parts=3, targets=(0.7, 0.6))
    res = solve(pr)
    pts = [p for p in frontier(pr, res, points=6) if p.label == "budget"]
    inv = np.array([p.investment for p in pts])
    on = np.array([p.on_time for p in pts])
    assert np.all(np.diff(inv) >= 0) and np.all(np.diff(on) > 0)
    assert pts[0].investment == 0.0
    assert on[0] == pytest.approx(evaluate(pr, np.zeros_like(res.levels)).overall_on_time)
    # the plan's own vectors are in the sweep's pool: a budget at or above the plan's
    # investment serves at least as much as the plan
    above = on[inv <= res.investment * 1.25 + 1e-9][-1]
    assert above >= res.overall_on_time - 1e-7


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


def test_the_package_exports_its_public_names_lazily() -> None:
    for name in stocking.__all__:
        assert getattr(stocking, name) is not None, name
    with pytest.raises(AttributeError):
        stocking.no_such_name  # noqa: B018
    # a light submodule pulls in no solver; the column module neither exact nor the master
    code = ("import sys, optimizer.stocking.problem, optimizer.stocking.io\n"
            "heavy = [m for m in ('highspy', 'pulp', 'optimizer.stocking.api') if m in sys.modules]\n"
            "import optimizer.stocking.columns\n"
            "heavy += [m for m in ('optimizer.stocking.exact', 'optimizer.stocking.master')\n"
            "          if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
