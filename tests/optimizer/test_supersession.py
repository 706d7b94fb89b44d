"""The stocking plan pools substitutes as dispatch ships them (optimizer.supersession)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import scenarios
from inventory.domain import Substitution, SubstitutionKind
from optimizer.reach import build_reach
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.problem import build_problem
from optimizer.supersession import planning_scenario
from optimizer.travel import TravelNetwork


@pytest.fixture(scope="module")
def tiny() -> scenarios.Scenario:
    return scenarios.load("tiny")


@pytest.fixture(scope="module")
def reach(tiny):
    return build_reach(tiny, TravelNetwork(tiny))


def _part_class_demand(problem, part: str) -> np.ndarray:
    k = list(problem.part_ids).index(part)
    on = problem.stream_part == k
    return np.bincount(problem.stream_class[on], weights=problem.stream_rate_per_year[on],
                       minlength=problem.n_classes)


def test_a_superseded_part_is_planned_on_its_successor(tiny, reach) -> None:
    # tiny: LC-10G (phase-out) -> LC-10G-B one way, as dispatch ships it
    assert tiny.substitutes_for("LC-10G") == ("LC-10G-B",)
    pooled, succession = planning_scenario(tiny)
    assert succession.planned_as["LC-10G"] == "LC-10G-B"
    raw, pool = build_problem(tiny, reach), build_problem(pooled, reach)
    # the successor carries both parts' demand in every class; the old part none
    both = _part_class_demand(raw, "LC-10G") + _part_class_demand(raw, "LC-10G-B")
    np.testing.assert_allclose(_part_class_demand(pool, "LC-10G-B").sum(), both.sum(),
                               rtol=1e-12)
    assert _part_class_demand(pool, "LC-10G").sum() == 0
    for other in ("PSU-1200", "FAN-T1"):
        np.testing.assert_array_equal(_part_class_demand(pool, other),
                                      _part_class_demand(raw, other))
    # planning the pooled scenario again moves nothing
    again, _ = planning_scenario(pooled)
    np.testing.assert_allclose(_part_class_demand(build_problem(again, reach), "LC-10G-B"),
                               _part_class_demand(pool, "LC-10G-B"), rtol=1e-12)

    plan = plan_scenario(tiny, reach=reach, with_baselines=False)
    ix = list(plan.part_ids).index
    assert plan.levels[ix("LC-10G")].sum() == 0  # never stocked while its successor serves
    assert plan.levels[ix("LC-10G-B")].sum() > 0
    assert any("LC-10G-B is planned with LC-10G (superseded)" in n for n in plan.notes)
    # the plan is the pooled problem's: its shares are those of the pooled model
    from optimizer.stocking.evaluate import evaluate

    ev = evaluate(pool, np.asarray(plan.levels))
    np.testing.assert_allclose(ev.class_on_time, plan.class_on_time, atol=1e-6,
                               equal_nan=True)


def test_without_substitutions_nothing_is_pooled(tiny) -> None:
    bare = replace(tiny, substitutions=())
    pooled, succession = planning_scenario(bare)
    assert pooled is bare and not succession.kind


def test_two_way_parts_are_one_pool_on_the_cheaper(tiny, reach) -> None:
    sc = replace(tiny, substitutions=(Substitution("PSU-1200", "FAN-T1",
                                                   SubstitutionKind.TWO_WAY),))
    pooled, succession = planning_scenario(sc)
    rep = succession.planned_as["PSU-1200"]
    assert rep == succession.planned_as["FAN-T1"]
    other = "FAN-T1" if rep == "PSU-1200" else "PSU-1200"
    assert sc.part(rep).unit_cost <= sc.part(other).unit_cost
    raw, pool = build_problem(sc, reach), build_problem(pooled, reach)
    assert _part_class_demand(pool, other).sum() == 0
    assert _part_class_demand(pool, rep).sum() == pytest.approx(
        _part_class_demand(raw, rep).sum() + _part_class_demand(raw, other).sum(), rel=1e-12)
