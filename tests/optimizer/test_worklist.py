"""Plan exceptions for the worklist: the parts that drive a class below target and the
platinum/gold parts with no stock in reach, on problems small enough to check by hand."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from inventory.domain import InstalledBase
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.result import levels_in_order
from optimizer.worklist import (
    miss_drivers,
    no_stock_in_reach,
    plan_exceptions,
    stocked_locations,
)
from tests.optimizer.stocking.fixtures import random_problem


def _problem(streams: list[tuple[int, int, float, bool]]) -> StockingProblem:
    """Parts A, B, C; classes gold/1 (target 0.9) and silver/1 (0.8); one depot D under the HQ.
    ``streams``: (part, class, rate a year, in service)."""
    n = len(streams)
    return StockingProblem(
        name="hand", currency="EUR", part_ids=np.array(["A", "B", "C"], dtype=object),
        location_ids=np.array(["HQ", "D"], dtype=object), parent=np.array([-1, 0]),
        transit_days=np.array([0.0, 2.0]), unit_cost=np.array([100.0, 200.0, 300.0]),
        repairable=np.zeros(3, dtype=bool), repair_turnaround_days=np.zeros(3),
        repair_yield=np.zeros(3), procurement_lead_time_days=np.full(3, 30.0),
        class_tier=np.array(["gold", "silver"], dtype=object),
        class_severity=np.array([1, 1]), class_target=np.array([0.9, 0.8]),
        stream_part=np.array([s[0] for s in streams]),
        stream_class=np.array([s[1] for s in streams]),
        stream_rate_per_year=np.array([s[2] for s in streams]),
        stream_primary=np.ones(n, dtype=np.int64), stream_pref=np.ones((n, 1), dtype=np.int64),
        stream_p_on_time=np.ones((n, 1)),
        stream_in_service=np.array([s[3] for s in streams]))


def test_drivers_of_a_missed_class_by_hand():
    # gold: A 10/yr at 0.5 on time, B 20/yr at 0.95 (two streams), C 5/yr at 0.7, plus 100/yr of
    # A without a part deadline (not counted). silver: A 10/yr at 0.9 (met).
    p = _problem([(0, 0, 10.0, True), (1, 0, 12.0, True), (1, 0, 8.0, True), (2, 0, 5.0, True),
                  (0, 0, 100.0, False), (0, 1, 10.0, True)])
    on_time = np.array([0.5, 0.95, 0.95, 0.7, 0.0, 0.9])
    out = miss_drivers(p, on_time)
    # gold: 35 requests, 5 + 19 + 3.5 = 27.5 on time = 78.6 % < 90 %; silver 90 % >= 80 %
    assert [(d.tier, d.part_id) for d in out] == [("gold", "A"), ("gold", "C")]
    a, c = out
    assert a.requests_per_year == pytest.approx(10.0)
    assert a.on_time_per_year == pytest.approx(5.0)
    assert a.shortfall_per_year == pytest.approx(0.9 * 10 - 5)  # 4 on-time requests a year
    assert a.on_time == pytest.approx(0.5)
    assert c.shortfall_per_year == pytest.approx(0.9 * 5 - 3.5)  # 1
    assert a.class_on_time == pytest.approx(27.5 / 35) and a.target == 0.9
    # B is above the target (19 of 20): it holds nothing back
    assert miss_drivers(p, on_time, top=1) == [a]


def test_no_class_below_target_no_driver():
    p = _problem([(0, 0, 10.0, True), (1, 1, 10.0, True)])
    assert miss_drivers(p, np.array([0.9, 0.8])) == []
    with pytest.raises(ValueError, match="shape"):
        miss_drivers(p, np.array([0.9]))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), level=st.integers(0, 2))
def test_drivers_list_exactly_the_missed_classes(seed, level):
    """Every listed class is below its target in the evaluation, every class below target with
    a part short is listed, and the shortfalls of all parts of a class add up to its own."""
    p = random_problem(seed, targets=(0.95, 0.9))
    ev = evaluate(p, np.full((p.n_parts, p.n_locations), level))
    out = miss_drivers(p, ev.stream_on_time, top=p.n_parts)
    listed = {d.tier for d in out}
    demand = p.class_demand_per_year
    for c in range(p.n_classes):
        below = demand[c] > 0 and ev.class_on_time[c] < p.class_target[c] - 1e-9
        assert (str(p.class_tier[c]) in listed) == below
        if below:
            mine = [d for d in out if d.tier == p.class_tier[c]]
            assert all(d.shortfall_per_year > 0 for d in mine)
            assert [d.shortfall_per_year for d in mine] == sorted(
                (d.shortfall_per_year for d in mine), reverse=True)
            class_short = p.class_target[c] * demand[c] - ev.class_on_time[c] * demand[c]
            # parts above target offset the others: the listed ones cover at least the class
            assert sum(d.shortfall_per_year for d in mine) >= class_short - 1e-6


def _reach(entries: dict[tuple[str, int, str], tuple[tuple[str, float], ...]]):
    return SimpleNamespace(keys=list(entries), entries=list(entries.values()),
                           patterns=[((1.0, 1),)] * len(entries), no_part_deadline=[], tails=[])


def test_platinum_and_gold_parts_with_no_stock_in_reach_by_hand():
    tiny = scenarios.load("tiny")
    sc = replace(tiny, installed_base=(
        InstalledBase("GZ-01", "PSU-1200", 16),  # platinum
        InstalledBase("GZ-02", "LC-10G", 2),  # gold
        InstalledBase("GZ-04", "PSU-1200", 2)))  # silver: not a covered tier
    reach = _reach({
        ("GZ-01", 1, "small"): (("GZ", 0.9),),
        ("GZ-01", 2, "small"): (("GZ", 1.0), ("HQ-SZ", 0.7)),
        ("GZ-01", 3, "small"): (("GZ", 1.0), ("HQ-SZ", 1.0)),
        ("GZ-01", 4, "small"): (("GZ", 1.0), ("HQ-SZ", 1.0)),
        ("GZ-02", 1, "medium"): (("SH", 0.0),),  # listed, but never on time: not in reach
        ("GZ-02", 2, "medium"): (("GZ", 0.95),),
        ("GZ-02", 3, "medium"): (("GZ", 1.0),),
        # GZ-02 severity 4: nothing reaches it
    })
    stocked = {"PSU-1200": frozenset({"HQ-SZ"}), "LC-10G": frozenset({"GZ"})}
    out = no_stock_in_reach(sc, reach, stocked)
    assert [(u.tier, u.site_id, u.part_id, u.severities) for u in out] == [
        ("platinum", "GZ-01", "PSU-1200", (1,)), ("gold", "GZ-02", "LC-10G", (1, 4))]
    mix = sc.settings.severity_mix  # [0.1, 0.25, 0.4, 0.25]
    assert out[0].requests_per_year == pytest.approx(16 * 0.04 * mix[0])
    assert out[1].requests_per_year == pytest.approx(2 * 0.02 * (mix[0] + mix[3]))
    assert out[0].contract_id == "PLAT"
    # stock at GZ covers every severity GZ reaches; silver asked for too: GZ-04 has no reach
    full = {"PSU-1200": frozenset({"GZ"}), "LC-10G": frozenset({"GZ"})}
    assert [u.part_id for u in no_stock_in_reach(sc, reach, full)] == ["LC-10G"]
    silver = no_stock_in_reach(sc, reach, full, tiers=("silver",))
    assert [(u.site_id, u.severities) for u in silver] == [("GZ-04", (1, 2, 3, 4))]


def test_stocked_locations_and_levels_in_order():
    S = np.array([[0, 2], [1, 0]])
    assert stocked_locations(["A", "B"], ["HQ", "D"], S) == {"A": frozenset({"D"}),
                                                            "B": frozenset({"HQ"})}
    plan = SimpleNamespace(part_ids=np.array(["A", "B"]), location_ids=np.array(["HQ", "D"]),
                           levels=S)
    assert levels_in_order(plan, ["B", "X", "A"], ["D", "HQ"]).tolist() == [[0, 1], [0, 0],
                                                                            [2, 0]]


def test_plan_exceptions_of_an_empty_plan_of_tiny():
    """No stock at all: every platinum/gold part with demand is uncovered at every severity, and
    every class with a target misses, driven by parts of its demand."""
    from optimizer.reach import build_reach
    from optimizer.supersession import planning_scenario
    from optimizer.travel import TravelNetwork

    tiny = scenarios.load("tiny")
    reach = build_reach(tiny, TravelNetwork(tiny))
    pooled = planning_scenario(tiny)[0]
    locs = [tiny.hq.depot_id] + [d.depot_id for d in tiny.depots if d.depot_id != tiny.hq.depot_id]
    plan = SimpleNamespace(part_ids=np.array([p.part_id for p in pooled.parts]),
                           location_ids=np.array(locs),
                           levels=np.zeros((len(pooled.parts), len(locs)), dtype=np.int64))
    drivers, uncovered = plan_exceptions(tiny, reach, plan)
    assert {d.tier for d in drivers} >= {"platinum", "gold"}
    assert all(d.on_time_per_year == pytest.approx(0.0) for d in drivers)
    pairs = {(ib.site_id, ib.part_id) for ib in pooled.installed_base
             if pooled.contract(pooled.site(ib.site_id).contract_id).tier in ("platinum", "gold")}
    assert {(u.site_id, u.part_id) for u in uncovered} == pairs
