"""Supersession and interchangeable parts in the quarterly run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from inventory.domain import Lifecycle, Substitution, SubstitutionKind
from optimizer.forecast.prior import prior_rates
from optimizer.forecast.select import forecast_scenario, history_matrix
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import scenario_run
from optimizer.supersession import Succession

ONE, TWO = SubstitutionKind.ONE_WAY, SubstitutionKind.TWO_WAY


@pytest.fixture(scope="module")
def tiny() -> scenarios.Scenario:
    return scenarios.load("tiny")


def _with_rev_c(sc: scenarios.Scenario) -> scenarios.Scenario:
    """tiny plus a rev C line card that supersedes rev B (A -> B -> C)."""
    b = sc.part("LC-10G-B")
    c = replace(b, part_id="LC-10G-C", name="Line card rev C", annual_failure_rate=0.01)
    return replace(sc, parts=(*sc.parts, c),
                   substitutions=(*sc.substitutions, Substitution("LC-10G-B", "LC-10G-C", ONE)))


def test_chain_passes_history_and_installed_base_to_the_last_successor(tiny) -> None:
    sc = _with_rev_c(tiny)
    s = Succession.from_scenario(sc)
    assert s.planned_as["LC-10G"] == s.planned_as["LC-10G-B"] == "LC-10G-C"
    assert s.kind == {"LC-10G": "superseded", "LC-10G-B": "superseded"}
    assert s.use_order["LC-10G-C"] == ("LC-10G", "LC-10G-B")  # the oldest stock goes first
    plan = s.planning_scenario(sc)
    chain = ("LC-10G", "LC-10G-B", "LC-10G-C")
    before, after = prior_rates(sc), prior_rates(plan)
    bi, ai = before.index(), after.index()
    # the prior demand of the chain is kept, all on the last part
    assert after.rate_per_month[ai["LC-10G-C"]] == pytest.approx(
        sum(before.rate_per_month[bi[p]] for p in chain))
    assert after.rate_per_month[ai["LC-10G"]] == 0 == after.rate_per_month[ai["LC-10G-B"]]
    y0, months = history_matrix(sc.demand_history, [p.part_id for p in sc.parts])
    y1, _ = history_matrix(plan.demand_history, [p.part_id for p in sc.parts], months)
    np.testing.assert_array_equal(y1[-1], y0[[bi[p] for p in chain]].sum(axis=0))
    f = forecast_scenario(plan, planned_elsewhere=s.planned_elsewhere)
    assert f.rate_per_month[bi["LC-10G"]] == 0 == f.rate_per_month[bi["LC-10G-B"]]
    assert f.rate_per_month[bi["LC-10G-C"]] > 0
    # parts outside the chain are untouched
    assert plan.part("PSU-1200") == sc.part("PSU-1200")
    assert ([b for b in plan.installed_base if b.part_id == "PSU-1200"]
            == [b for b in sc.installed_base if b.part_id == "PSU-1200"])


def test_a_successor_at_end_of_life_cannot_serve(tiny) -> None:
    parts = tuple(replace(p, lifecycle=Lifecycle.END_OF_LIFE) if p.part_id == "LC-10G-B" else p
                  for p in tiny.parts)
    s = Succession.from_scenario(replace(tiny, parts=parts))
    assert s.planned_as["LC-10G"] == "LC-10G" and not s.kind


def test_two_way_parts_and_one_way_cycles_are_one_pool(tiny) -> None:
    subs = (Substitution("PSU-1200", "FAN-T1", TWO), Substitution("LC-10G", "LC-10G-B", ONE),
            Substitution("LC-10G-B", "LC-10G", ONE))
    s = Succession.from_parts(tiny.parts, subs, [1.0, 1.0, 1.0, 1.0])
    assert s.planned_as["PSU-1200"] == "FAN-T1"  # both active: the cheaper one is bought
    assert s.planned_as["LC-10G"] == "LC-10G-B"  # active before phase-out
    assert s.kind == {"PSU-1200": "interchangeable", "LC-10G": "interchangeable"}
    assert s.share == {"PSU-1200": 1.0, "LC-10G": 1.0}
    with pytest.raises(ValueError, match="unknown part"):
        Succession.from_parts(tiny.parts, (Substitution("X", "FAN-T1", ONE),), [1.0] * 4)


def test_split_uses_old_stock_first_up_to_its_share(tiny) -> None:
    s = Succession.from_parts(tiny.parts, (Substitution("LC-10G", "LC-10G-B", ONE),),
                              [0.0, 0.0, 1.0, 3.0])
    assert s.share == {"LC-10G": 0.25}  # old units only serve the old part's quarter of demand
    target = np.zeros((4, 3), dtype=np.int64)
    target[3] = [8, 4, 0]
    position = np.zeros((4, 3), dtype=np.int64)
    position[2] = [5, 0, 3]
    position[3] = [1, 1, -2]
    split = s.split_targets(target, position)
    np.testing.assert_array_equal(split[2], [2, 0, 0])  # caps ceil(0.25 x 8) = 2, 1, 0
    np.testing.assert_array_equal(split[3], [6, 4, 0])
    np.testing.assert_array_equal(s.fold_levels(np.clip(position, 0, None), target)[3], [3, 1, 0])
    two = Succession.from_parts(tiny.parts, (Substitution("LC-10G", "LC-10G-B", TWO),),
                                [0.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(two.split_targets(target, position)[3], [3, 4, 0])
    pooled = two.pool_targets(np.array([[0, 0, 0], [0, 0, 0], [1, 2, 0], [3, 0, 1]]))
    np.testing.assert_array_equal(pooled[[2, 3]], [[0, 0, 0], [4, 2, 1]])
    with pytest.raises(ValueError, match="arrays"):
        s.split_targets(target, position[:3])


def test_old_stock_keeps_its_own_demand_for_the_excess_list(tiny) -> None:
    s = Succession.from_parts(tiny.parts, (Substitution("LC-10G", "LC-10G-B", ONE),),
                              [0.0, 0.0, 1.0, 3.0])
    assert s.own_share == {"LC-10G": 0.25}
    demand = np.zeros((4, 3))
    demand[3] = [8.0, 5.0, 3.0]  # the HQ column carries the whole part
    split = np.zeros((4, 3))
    split[2] = [1.0, 0.0, 1.0]
    out = s.member_demand(demand, split)
    np.testing.assert_allclose(out[2], [2.0, 0.0, 2.0])
    np.testing.assert_allclose(out[3], demand[3])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=3, max_size=3),
       st.lists(st.integers(-3, 10), min_size=9, max_size=9),
       st.lists(st.floats(0.0, 5.0), min_size=3, max_size=3))
def test_reaching_every_split_target_reaches_the_pooled_one(target_rep: list[int],
                                                            pos: list[int],
                                                            rate: list[float]) -> None:
    sc = scenarios.load("tiny")
    subs = (Substitution("PSU-1200", "FAN-T1", ONE), Substitution("FAN-T1", "LC-10G-B", ONE))
    s = Succession.from_parts(sc.parts, subs, [rate[0], rate[1], 1.0, rate[2]])
    target = np.zeros((4, 3), dtype=np.int64)
    target[3] = target_rep
    position = np.zeros((4, 3), dtype=np.int64)
    position[[0, 1, 3]] = np.reshape(pos, (3, 3))
    split = s.split_targets(target, position)
    members = [0, 1]
    assert np.all(split >= 0)
    assert np.all(split[members] <= np.clip(position[members], 0, None))  # never bought
    np.testing.assert_array_equal(split[members].sum(axis=0) + split[3], target[3])
    after = np.maximum(position, split)  # every part brought up to its split target
    assert np.all(s.fold_levels(np.clip(after, 0, None), target)[3] >= target[3])


def test_the_run_never_orders_a_superseded_part(tiny) -> None:
    r = scenario_run(tiny, Quarter.parse("2027Q1"))
    p = r.plan
    for df in (p.buys, p.repairs, p.cut):
        assert "LC-10G" not in set(df["part_id"])
    assert "LC-10G" not in set(p.transfers["part_id"])
    i, j = p.inputs.part_ids.index("LC-10G"), p.inputs.part_ids.index("LC-10G-B")
    levels = r.stocking.levels
    # the rev A units on the shelf count first; rev B fills the rest of the pooled target
    assert np.all(p.inputs.target[i] <= np.clip(p.inputs.positions.inventory_position[i], 0, None))
    np.testing.assert_array_equal(p.inputs.target[i] + p.inputs.target[j], levels[j])
    assert np.all(levels[i] == 0)
    table = r.forecast_table.set_index("part_id")
    assert table.loc["LC-10G", "planned_as"] == "LC-10G-B"
    assert table.loc["LC-10G", "forecast_units_per_month"] == 0
    assert any("LC-10G-B is planned with LC-10G" in n for n in r.notes)


@pytest.mark.parametrize("name", ["tiny", "cn-telecom"])
def test_planning_agrees_with_dispatch_on_what_may_ship(name: str) -> None:
    sc = scenarios.load(name)
    s = Succession.from_scenario(sc)
    assert s.kind
    for part, rep in s.planned_as.items():
        if part == rep:
            continue
        assert rep in sc.substitutes_for(part), part  # dispatch may ship the part planned for it
        if s.kind[part] == "interchangeable":
            assert part in sc.substitutes_for(rep)
