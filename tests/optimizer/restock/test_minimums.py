"""Contractual minimums: the file, checked cell by cell, and the orders that hold them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optimizer.restock.minimums import (
    MinimumsFormatError,
    minimum_levels,
    parse_minimums,
    read_minimums,
)
from optimizer.restock.plan import plan_restock
from tests.optimizer.restock.helpers import TableModel, make_inputs

PARTS, LOCS = ("P0", "P1"), ("HQ", "D1", "D2")


def test_a_good_file_is_read(tmp_path) -> None:
    f = tmp_path / "minimums.csv"
    f.write_text("reason,units,depot_id,part_id\n"
                 '"contract C-7, on-site kit",2,D1,P0\n\n'
                 "regulator,1,HQ,P1\n", encoding="utf-8")
    rows = read_minimums(f, PARTS, LOCS)
    assert [(m.part_id, m.depot_id, m.units, m.reason) for m in rows] == [
        ("P0", "D1", 2, "contract C-7, on-site kit"), ("P1", "HQ", 1, "regulator")]
    units, reasons = minimum_levels(rows, PARTS, LOCS)
    np.testing.assert_array_equal(units, [[0, 2, 0], [1, 0, 0]])
    assert reasons[0, 1] == "contract C-7, on-site kit" and reasons[0, 0] == ""


def _problems(text: str) -> list[str]:
    with pytest.raises(MinimumsFormatError) as err:
        parse_minimums(text.splitlines(), PARTS, LOCS, name="m.csv")
    return err.value.problems


def test_bad_rows_are_named_by_file_row_and_column() -> None:
    probs = _problems("part_id,depot_id,units,reason\n"
                      "P9,D1,2,x\n"          # row 2: unknown part
                      "P0,D7,2,x\n"          # row 3: unknown location
                      "P0,D1,2.5,x\n"        # row 4: not a whole number
                      "P0,D1,0,x\n"          # row 5: below 1
                      "P0,D2,1,\n"           # row 6: no reason
                      "P1,D1,1,a\n"          # row 7: fine
                      "P1,D1,3,b\n"          # row 8: repeats row 7
                      "P1,D2,1\n")           # row 9: a cell short
    assert probs[0].startswith("m.csv:2:part_id: 'P9'")
    assert probs[1].startswith("m.csv:3:depot_id: 'D7'")
    assert probs[2].startswith("m.csv:4:units:") and "'2.5'" in probs[2]
    assert probs[3].startswith("m.csv:5:units:")
    assert probs[4].startswith("m.csv:6:reason:")
    assert probs[5].startswith("m.csv:8:depot_id:") and "row 7" in probs[5]
    assert probs[6].startswith("m.csv:9::")
    assert len(probs) == 7


def test_header_problems() -> None:
    assert _problems("part_id,depot_id,units\n") == ["m.csv:1:reason: missing column"]
    probs = _problems("part_id,depot_id,units,reason,colour\n")
    assert probs[0].startswith("m.csv:1:colour: unknown column")
    assert _problems("")[0].startswith("m.csv:1:: the file is empty")


def test_a_minimum_without_gain_is_bought_and_listed_apart() -> None:
    # P0 at D1: target 1, on hand 0, and a unit there adds nothing; the contract wants 2 there
    inp = make_inputs([[0, 1, 0], [0, 0, 1]], [[0, 0, 0], [0, 0, 0]],
                      unit_cost=[100.0, 50.0], defective=np.zeros((2, 3)))
    model = TableModel([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    units = np.array([[0, 2, 0], [0, 0, 0]])
    reasons = np.full((2, 3), "", dtype=object)
    reasons[0, 1] = "contract C-7"
    plain = plan_restock(inp, model=model)
    assert list(plain.buys["part_id"]) == ["P1"] and plain.contractual.empty
    plan = plan_restock(inp, model=model, minimums=(units, reasons))
    c = plan.contractual
    assert len(c) == 1
    row = c.iloc[0]
    assert (row.part_id, row.to_depot, row.quantity, row.minimum_units, row.reason) == (
        "P0", "D1", 2, 2, "contract C-7")
    assert row.amount == pytest.approx(200.0) and row.gain_per_year == 0.0
    assert list(plan.buys["part_id"]) == ["P1"]  # the valued buys are unchanged
    assert plan.position_after[0, 1] == 2 and plan.excess.empty
    assert plan.totals()["contractual_units"] == 2
    assert plan.dropped[plan.dropped["part_id"] == "P0"].empty  # not counted twice


def test_contractual_units_take_their_money_first_and_are_never_cut() -> None:
    inp = make_inputs([[0, 2, 0], [0, 0, 3]], np.zeros((2, 3)), unit_cost=[100.0, 50.0],
                      defective=np.zeros((2, 3)))
    model = TableModel([[1.0, 0.5, 1.0], [1.0, 1.0, 2.0]])
    units = np.array([[0, 0, 0], [0, 0, 1]])  # P1 at D2 is also worth buying on its own
    reasons = np.where(units > 0, "agreement", "").astype(object)
    plan = plan_restock(inp, 150.0, model=model, minimums=(units, reasons))
    # the budget of 150 pays the contractual unit (50) first, then the best valued buys
    assert plan.contract_amount + plan.buy_amount <= 150.0 + 1e-6
    assert plan.position_after[1, 2] >= 1
    tight = plan_restock(inp, 10.0, model=model, minimums=(units, reasons))
    assert tight.contract_amount == pytest.approx(50.0) and tight.buys.empty
    assert tight.position_after[1, 2] == 1


def test_a_minimum_the_stock_meets_orders_nothing() -> None:
    inp = make_inputs([[0, 1, 0], [0, 0, 0]], [[0, 3, 0], [0, 0, 0]],
                      defective=np.zeros((2, 3)), demand=np.zeros((2, 3)))
    units = np.array([[0, 2, 0], [0, 0, 0]])
    plan = plan_restock(inp, model=TableModel(np.ones((2, 3))),
                        minimums=(units, np.where(units > 0, "kit", "").astype(object)))
    assert plan.contractual.empty
    # the minimum is part of the target: only the unit above it is excess (2 without it)
    assert plan.excess["quantity"].sum() == 1
    assert plan_restock(inp, model=TableModel(np.ones((2, 3)))).excess["quantity"].sum() == 2


@settings(max_examples=40, deadline=None)
@given(target=arrays(np.int64, (2, 3), elements=st.integers(0, 4)),
       on_hand=arrays(np.int64, (2, 3), elements=st.integers(0, 3)),
       gain=arrays(np.float64, (2, 3), elements=st.sampled_from([-0.5, 0.0, 0.0005, 0.2, 1.0])),
       minimum=arrays(np.int64, (2, 3), elements=st.integers(0, 5)),
       budget=st.one_of(st.none(), st.floats(0, 2000)))
@example(target=np.zeros((2, 3), dtype=np.int64), on_hand=np.array([[2, 0, 0], [0, 0, 0]]),
         gain=np.full((2, 3), 0.2), minimum=np.full((2, 3), 4), budget=1540.0)  # more cut
# rounds than MAX_CAP_ROUNDS: a valued buy of 180 was kept beside minimums taking 1,720
def test_minimums_always_hold_and_valued_buys_keep_to_the_budget(target, on_hand, gain, minimum,
                                                                 budget) -> None:
    inp = make_inputs(target, on_hand, unit_cost=[100.0, 60.0], defective=np.zeros((2, 3)))
    reasons = np.where(minimum > 0, "contract", "").astype(object)
    plan = plan_restock(inp, budget, model=TableModel(gain), minimums=(minimum, reasons))
    assert np.all(plan.position_after >= minimum)
    # the valued buys fit in what the budget leaves after the contractual units
    if budget is not None:
        assert plan.buy_amount <= max(budget - plan.contract_amount, 0.0) + 1e-6
    # every valued buy adds at least the floor; contractual lines carry their reason
    assert (plan.buys["gain_per_year"] >= 1e-3 - 1e-12).all()
    assert (plan.contractual["reason"] == "contract").all()
    assert (plan.contractual["quantity"] > 0).all()
    # contractual units only where a minimum is not met by the valued orders
    c = plan.contract_units
    assert np.all((c == 0) | (minimum > 0))
    without = plan.position_after - c
    assert np.all((c == 0) | (without < minimum))
