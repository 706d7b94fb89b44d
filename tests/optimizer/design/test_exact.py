"""Exact network design (the certified optimum), checked against an enumeration of the designs
(each stocked by the exact stocking solver) and by brute force."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from optimizer.design import DesignObjective, build_design_problem
from optimizer.design.exact import exact_box, solve_design_exact
from optimizer.design.plan import plan_design
from optimizer.stocking.exact import solve_exact
from optimizer.stocking.targets import class_ceiling, target_plan
from scenarios.generator import generate
from tests.optimizer.design.scenarios import cheapest_saving_design, stock_saving


def test_exact_design_equals_brute_force() -> None:
    """Two parts, HQ + depot + candidate, every level 0..2: the MIP finds the cheapest design."""
    dp = build_design_problem(stock_saving(n_parts=2))
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    best = cheapest_saving_design(dp)
    res = solve_design_exact(dp)
    assert res.method == "exact" and res.feasible
    assert res.yearly_cost == pytest.approx(best)
    assert res.bound == pytest.approx(best, rel=1e-5) and res.gap <= 1e-5
    closed = solve_design_exact(dp, DesignObjective(force_closed=("K-SHA",)))
    assert not closed.open[ix["K-SHA"]] and closed.levels[:, ix["K-SHA"]].sum() == 0
    assert closed.yearly_cost >= res.yearly_cost


def _enumerated(dp, box: np.ndarray) -> float:
    """Cheapest yearly cost over every subset of the switchable locations, each stocked by the
    exact stocking solver within the box (an independent route to the same optimum)."""
    pr = dp.stocking
    sw = np.nonzero(dp.switchable)[0]
    best = np.inf
    for bits in itertools.product((False, True), repeat=len(sw)):
        is_open = ~dp.switchable.copy()
        is_open[sw] = bits
        aimed = target_plan(pr, class_ceiling(pr, np.ones(pr.n_locations, dtype=bool))).aimed_at
        try:
            x = solve_exact(pr, np.where(is_open[None, :], box, 0), targets=aimed)
        except ValueError:
            continue
        best = min(best, dp.yearly_cost(x.levels, is_open)[0])
    return best


def test_exact_design_equals_enumerated_designs_on_a_remote_generated_scenario() -> None:
    sc = generate(2, 3, 8, 2, candidates=2, site_spread_km=250.0)
    dp = build_design_problem(sc)
    box = np.full((dp.stocking.n_parts, dp.stocking.n_locations), 2)
    res = solve_design_exact(dp)
    assert np.all(res.levels <= box)  # so the enumeration in the box sees the optimum too
    assert res.yearly_cost == pytest.approx(_enumerated(dp, box), rel=1e-6)
    assert res.bound <= res.yearly_cost + 1e-6 and res.gap <= 1e-5


def test_plan_design_exact_reports_the_mip_bound() -> None:
    d = plan_design(stock_saving(n_parts=2), method="exact", with_before=False)
    assert d.design.method == "exact"
    assert d.gap is not None and d.gap <= 1e-5
    assert d.plan.feasible
    with pytest.raises(ValueError, match="unknown design method"):
        plan_design(stock_saving(n_parts=2), method="nope")


def test_exact_design_refuses_a_budget_and_instances_too_large_for_a_certificate() -> None:
    dp = build_design_problem(stock_saving(n_parts=2))
    with pytest.raises(ValueError, match="under a budget"):
        solve_design_exact(dp, DesignObjective(budget=1e6))
    big = build_design_problem(generate(2, 12, 8, 1, candidates=2))  # 15 locations
    with pytest.raises(ValueError, match="too large"):
        solve_design_exact(big)


def test_exact_box_adds_the_margin_everywhere_and_shrinks_it_to_fit() -> None:
    lv = np.zeros((2, 4), dtype=np.int64)
    lv[0, 0] = 3
    assert np.array_equal(exact_box(lv, 1), lv + 1)
    assert np.array_equal(exact_box(lv, 2), lv + 2)
    wide = np.zeros((2, 8), dtype=np.int64)  # 2 x 4^8 vectors fit, 2 x 5^8 do not
    assert np.array_equal(exact_box(wide, 5), wide + 3)
    with pytest.raises(ValueError, match="small instances"):
        exact_box(np.zeros((2, 20), dtype=np.int64), 1)


def test_no_gap_is_reported_when_the_chosen_plan_aims_lower_than_the_design() -> None:
    """A chosen network whose own ceiling is lower than with every candidate open aims lower at
    that class and may cost less than the design's bound (which is for the design's aims): no
    gap is claimed then."""
    d = plan_design(stock_saving(n_parts=2), with_before=False)
    assert d.gap is not None and not d.aims_below_design
    plan = d.plan
    lower = replace(plan, effective_target=np.where(np.isnan(plan.effective_target), np.nan,
                                                    plan.effective_target - 0.01))
    d2 = replace(d, chosen=replace(d.chosen, plan=lower))
    assert d2.aims_below_design == ["platinum/sev1"]
    assert d2.gap is None
