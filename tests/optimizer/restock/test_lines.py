"""Which order lines are proposed: the gain floor, the budget cut (least gain per money first)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.restock.lines import BUY, Lines, fit, rank
from optimizer.restock.plan import plan_restock
from tests.optimizer.restock.helpers import TableModel, make_inputs


def test_budget_cut_removes_the_lowest_gain_per_money_first() -> None:
    # four parts short of one unit at D1; gain per unit of money 4, 1, 3, 2 (per 100)
    inp = make_inputs([[0, 1]] * 4, [[0, 0]] * 4, unit_cost=[100.0, 100.0, 100.0, 100.0])
    model = TableModel([[0, 4], [0, 1], [0, 3], [0, 2]])
    r = plan_restock(inp, budget=250.0, model=model)
    assert sorted(r.buys["part_id"]) == ["P0", "P2"]
    assert sorted(r.cut["part_id"]) == ["P1", "P3"] and set(r.cut["reason"]) == {"budget"}
    ranked = list(r.marginal["part_id"])
    assert ranked == ["P0", "P2", "P3", "P1"]  # the marginal curve: most gain per money first
    assert list(r.marginal["proposed"]) == [True, True, False, False]
    assert np.all(np.diff(r.marginal["gain_per_10k"]) <= 0)


def test_cut_prefers_gain_per_money_over_gain() -> None:
    # P0 gains more but per money less than P1
    inp = make_inputs([[0, 1], [0, 1]], [[0, 0], [0, 0]], unit_cost=[1000.0, 100.0])
    r = plan_restock(inp, budget=500.0, model=TableModel([[0, 5], [0, 1]]))
    assert list(r.buys["part_id"]) == ["P1"] and list(r.cut["part_id"]) == ["P0"]


def test_a_unit_that_lowers_service_is_never_bought() -> None:
    # P1's extra unit lowers service (e.g. a cheaper substitute would be rationed away)
    inp = make_inputs([[0, 2], [0, 3]], [[0, 0], [0, 1]])
    r = plan_restock(inp, model=TableModel([[0, 1.0], [0, -0.5]]))
    assert list(r.buys["part_id"]) == ["P0"] and (r.buys["gain_per_year"] > 0).all()
    d = r.dropped.set_index("part_id")
    assert d.loc["P1", "quantity"] == 2 and d.loc["P1", "gain_per_year"] < 0
    assert r.dropped_units[1, 1] == 2 and r.bought[1].sum() == 0
    assert list(r.marginal["part_id"]) == ["P0"]  # the curve holds the buys that pay only


def test_lines_below_the_floor_are_not_proposed() -> None:
    inp = make_inputs([[0, 1], [0, 1]], [[0, 0], [0, 0]])
    r = plan_restock(inp, model=TableModel([[0, 0.0005], [0, 0.002]]), min_gain=1e-3)
    assert list(r.buys["part_id"]) == ["P1"] and list(r.dropped["part_id"]) == ["P0"]
    r = plan_restock(inp, model=TableModel([[0, 0.0005], [0, 0.002]]), min_gain=0.0)
    assert sorted(r.buys["part_id"]) == ["P0", "P1"]
    with pytest.raises(ValueError, match="min_gain"):
        plan_restock(inp, min_gain=-1)


def test_a_transfer_that_adds_nothing_is_dropped_and_its_units_stay() -> None:
    # HQ holds 2 above its target; moving them to D1 adds nothing there
    inp = make_inputs([[0, 2]], [[2, 0]])
    r = plan_restock(inp, model=TableModel([[0.3, 0.0]]))
    assert r.transfers.empty and r.buys.empty
    assert list(r.dropped["kind"]) == ["transfer"] and r.dropped["from_depot"].iloc[0] == "HQ"
    np.testing.assert_array_equal(r.position_after, [[2, 0]])


def test_fit_keeps_the_units_that_fit_and_skips_to_cheaper_lines() -> None:
    lines = Lines.make(BUY, [0, 1, 2], [-1] * 3, [1] * 3, [3, 2, 1], [300.0, 400.0, 50.0])
    order = np.array([0, 1, 2])
    np.testing.assert_array_equal(fit(lines, order, lines.qty, 520.0), [3, 1, 0])
    np.testing.assert_array_equal(fit(lines, order, lines.qty, 570.0), [3, 1, 1])
    np.testing.assert_array_equal(fit(lines, order, lines.qty, 250.0), [2, 0, 1])
    gains = np.array([[3.0], [8.0], [0.1]])
    np.testing.assert_array_equal(rank(lines, gains), [1, 0, 2])  # 0.02, 0.01, 0.002 per money


@settings(max_examples=40, deadline=None)
@given(gain=st.lists(st.floats(0.01, 5.0), min_size=2, max_size=6),
       cost=st.lists(st.floats(10, 500), min_size=6, max_size=6),
       budget=st.floats(0, 1500))
def test_no_cut_line_beats_a_kept_line_that_it_could_replace(gain, cost, budget) -> None:
    n = len(gain)
    inp = make_inputs([[0, 1]] * n, [[0, 0]] * n, unit_cost=cost[:n])
    r = plan_restock(inp, budget=budget, model=TableModel([[0, g] for g in gain]))
    assert r.buy_amount <= budget + 0.005 * n  # amounts are rounded to cents
    ratio = {f"P{i}": gain[i] / cost[i] for i in range(n)}
    kept = [ratio[p] for p in r.buys["part_id"]]
    for p, amount in zip(r.cut["part_id"], r.cut["amount"], strict=True):
        # a cut line is either less valuable per money than every line kept before it in the
        # ranking, or did not fit in what those left
        better = [k for k in kept if k < ratio[p]]
        assert not better or amount > budget - r.buy_amount - 0.005 * n
