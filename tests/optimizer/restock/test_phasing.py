"""Phasing: the step cap per quarter and the glide path (tiny scenario, raised targets)."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from optimizer.restock.build import location_ids, scenario_positions
from optimizer.restock.phasing import StepCap
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import RestockResult, run_restock


def test_step_cap_parsing() -> None:
    assert StepCap.parse("25%").resolve(1000.0) == pytest.approx(250.0)
    assert StepCap.parse(" 12.5 % ").share == pytest.approx(0.125)
    assert StepCap.parse("2500000").resolve(1.0) == 2_500_000.0
    assert str(StepCap.parse("25%")) == "25.0%"
    for bad in ("", "abc", "-5", "5%%", "1e5"):
        with pytest.raises(ValueError, match="neither an amount"):
            StepCap.parse(bad)
    with pytest.raises(ValueError, match="> 0"):
        StepCap.parse("0%")


@pytest.fixture(scope="module")
def runs() -> tuple[RestockResult, RestockResult, float]:
    sc = scenarios.load("tiny")
    pos = scenario_positions(sc, [p.part_id for p in sc.parts], location_ids(sc))
    raised = pos.inventory_position.clip(0) + 2  # two units short everywhere: buys to phase
    q = Quarter.parse("2027Q4")
    full = run_restock(sc, pos, q, targets=raised, curve_points=3, min_gain=0.0)
    cap = full.plan.buy_amount / 3.5
    phased = run_restock(sc, pos, q, targets=raised, curve_points=3, min_gain=0.0,
                         max_step=StepCap(amount=cap), glide_quarters=5)
    return full, phased, cap


def test_the_cap_defers_the_least_valuable_buys(runs) -> None:
    full, phased, cap = runs
    p = phased.plan
    assert 0 < p.buy_amount <= cap + 1e-6
    assert set(p.cut["reason"]) == {"step_cap"}
    assert p.buy_amount + p.cut_amount == pytest.approx(full.plan.buy_amount, abs=0.05)
    kept = p.buys["gain_per_10k"].min()
    assert len(p.marginal) == len(full.plan.marginal)
    # the marginal ranking marks the proposed buys; what the cap leaves out ranks lower or did
    # not fit in what was left
    m = p.marginal
    left = cap - p.buy_amount
    for row in m[~m["proposed"]].itertuples():
        assert row.gain_per_10k <= kept + 1e-9 or row.amount / row.quantity > left - 1e-6


def test_glide_path_spreads_the_step_up(runs) -> None:
    full, phased, cap = runs
    g = phased.glide
    assert list(g["quarter"]) == ["today", "2027Q4", "2028Q1", "2028Q2", "2028Q3", "2028Q4"]
    assert (g["buy_amount"] <= cap + 1e-6).all()
    total = full.plan.buy_amount
    assert g["deferred_amount"].iloc[0] == pytest.approx(total, abs=0.05)
    assert g["deferred_amount"].iloc[1] == pytest.approx(total - g["buy_amount"].iloc[1],
                                                         abs=0.05)
    assert np.all(np.diff(g["deferred_amount"]) <= 1e-6)
    # 3.5 caps of step-up: done in the fourth quarter, at the uncapped run's stock and service
    assert g["deferred_amount"].iloc[4] == pytest.approx(0.0, abs=0.05)
    assert g["buy_amount"].iloc[5] == 0
    assert g["stock_value"].iloc[-1] == pytest.approx(full.investment_after, rel=1e-9)
    assert g["on_time"].iloc[-1] == pytest.approx(full.curve.set_index("label").loc[
        "after orders", "on_time"], abs=1e-9)
    per_class = [c for c in g.columns if c.startswith("on_time_")]
    np.testing.assert_allclose(g[per_class].iloc[1], phased.service["on_time_after"],
                               atol=1e-9, equal_nan=True)
    assert np.all(np.diff(g["on_time"]) >= -1e-12)  # every quarter's buys add service
    # the later quarters' orders, planned again quarter by quarter, add up to the path
    o = phased.glide_orders
    assert set(o["quarter"]) <= {"2028Q1", "2028Q2", "2028Q3"}
    money = o[o["kind"] == "buy"].groupby("quarter")["money"].sum()
    for q, amount in money.items():
        assert amount == pytest.approx(g.set_index("quarter").loc[q, "buy_amount"], abs=0.05)
    assert (o["gain_per_year"] >= 0).all()


def test_each_later_quarter_starts_from_the_stock_the_one_before_leaves(runs) -> None:
    from optimizer.restock.phasing import next_positions

    _, phased, _ = runs
    p = phased.plan
    nxt = next_positions(p)
    np.testing.assert_array_equal(nxt.inventory_position, p.position_after)
    np.testing.assert_array_equal(nxt.defective, p.inputs.positions.defective - p.repair_sent)
    assert not nxt.in_transit.any() and not nxt.repair_due.any()
