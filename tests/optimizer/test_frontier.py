"""The frontier per class on the tiny scenario: the same points as the stocking frontier, class
shares that add back up to each point's overall share (weighted by class demand), and the last
point the plan itself."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from optimizer.frontier import scenario_class_frontier
from optimizer.reach import build_reach
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.problem import build_problem
from optimizer.supersession import planning_scenario
from optimizer.travel import TravelNetwork


@pytest.fixture(scope="module")
def case():
    sc = scenarios.load("tiny")
    reach = build_reach(sc, TravelNetwork(sc))
    plan = plan_scenario(sc, reach=reach, with_frontier=True)
    return sc, reach, plan, scenario_class_frontier(sc, reach, plan)


def test_the_points_are_the_stocking_frontier(case):
    _, _, plan, cf = case
    assert len(cf.points) == len(plan.frontier) >= 3
    for mine, theirs in zip(cf.points, plan.frontier, strict=True):
        assert mine.label == theirs.label and mine.units == theirs.units
        assert mine.investment == pytest.approx(theirs.investment)
        assert mine.on_time == pytest.approx(theirs.on_time, abs=1e-9)


def test_class_shares_add_up_to_the_overall_share(case):
    sc, reach, plan, cf = case
    demand = build_problem(planning_scenario(sc)[0], reach).class_demand_per_year
    for i, p in enumerate(cf.points):
        v = cf.class_on_time[i]
        ok = ~np.isnan(v) & (demand > 0)
        weighted = float(v[ok] @ demand[ok] / demand[ok].sum())
        want = plan.overall_on_time if p.label == "targets" else p.on_time
        assert weighted == pytest.approx(want, abs=1e-6), p
    assert np.all((cf.class_on_time[~np.isnan(cf.class_on_time)] >= 0)
                  & (cf.class_on_time[~np.isnan(cf.class_on_time)] <= 1 + 1e-12))


def test_the_last_point_is_the_plan_and_rows_are_long(case):
    _, _, plan, cf = case
    assert cf.points[-1].label == "targets"
    np.testing.assert_allclose(cf.class_on_time[-1], plan.class_on_time, atol=1e-9)
    rows = cf.rows()
    assert len(rows) == len(cf.points) * len(plan.class_tier)
    assert {(r["tier"], r["severity"]) for r in rows} == {
        (str(t), int(s)) for t, s in zip(plan.class_tier, plan.class_severity, strict=True)}
    assert rows[0]["point"] == 0 and rows[-1]["label"] == "targets"
