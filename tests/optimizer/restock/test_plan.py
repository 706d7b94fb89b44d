"""Restock orders: hand-worked cases and conservation invariants (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.restock.plan import plan_restock
from optimizer.restock.positions import PositionRow, Positions
from optimizer.restock.transfers import excess_and_shortfall
from tests.optimizer.restock.helpers import make_inputs


def test_transfers_cover_shortfalls_from_excess() -> None:
    inp = make_inputs([[2, 2, 2]], [[5, 0, 1]])
    r = plan_restock(inp)
    got = {(t.from_depot, t.to_depot): t.quantity for t in r.transfers.itertuples()}
    assert got == {("HQ", "D1"): 2, ("HQ", "D2"): 1}
    assert r.transfer_cost == pytest.approx(30.0)
    assert r.buys.empty and r.repairs.empty and r.cut.empty
    np.testing.assert_array_equal(r.position_after, [[2, 2, 2]])


def test_transfer_prefers_cheaper_lane_and_respects_lead_time() -> None:
    days = np.array([[0, 2, 2], [2, 0, 200], [2, 200, 0]], dtype=float)
    # D1 has 1 excess, HQ has 1 excess; D2 needs 2; D1 -> D2 takes 200 days: only HQ ships
    inp = make_inputs([[1, 1, 2]], [[2, 2, 0]], transfer_days=days)
    r = plan_restock(inp)
    assert list(r.transfers["from_depot"]) == ["HQ"]
    assert r.transfers["quantity"].sum() == 1
    assert r.bought.sum() == 1  # the rest is bought


def test_reserved_and_in_transit_stock_is_not_shipped() -> None:
    # HQ position 5 - 2 reserved = 3 vs target 1 -> excess 2 by position, free shelf 3 - 2 = 1
    inp = make_inputs([[1, 3]], [[3, 0]], in_transit=[[2, 0]], reserved=[[2, 0]])
    excess, short = excess_and_shortfall(inp)
    assert excess[0, 0] == 1 and short[0, 1] == 3
    r = plan_restock(inp)
    assert r.flow.sum() == 1 and r.bought.sum() == 2


def test_repairs_credit_expected_yield_then_buy() -> None:
    inp = make_inputs([[0, 3]], [[0, 0]], defective=[[0, 3]], yield_=0.8)
    r = plan_restock(inp)
    # ceil(3 / 0.8) = 4 wanted, 3 available -> floor(3 * 0.8) = 2 credited, 3 sent, 1 bought
    assert r.repair_sent.sum() == 3 and r.repair_credit[0, 1] == 2
    assert r.bought[0, 1] == 1
    np.testing.assert_array_equal(r.position_after, [[0, 3]])


def test_repair_sends_only_credited_units_and_respects_horizon() -> None:
    r = plan_restock(make_inputs([[0, 1]], [[0, 0]], defective=[[0, 1]], yield_=0.8))
    assert r.repair_sent.sum() == 0 and r.bought.sum() == 1  # 1 x 0.8 credits nothing
    r = plan_restock(make_inputs([[0, 2]], [[0, 0]], defective=[[5, 0]], turnaround=100.0))
    assert r.repairs.empty and r.bought.sum() == 2
    r = plan_restock(make_inputs([[0, 2]], [[0, 0]], defective=[[5, 0]], repairable=False))
    assert r.repairs.empty


def test_budget_ranks_by_service_per_money_and_lists_the_cut() -> None:
    inp = make_inputs([[0, 1], [0, 1]], [[0, 0], [0, 0]], unit_cost=[100.0, 50.0],
                      service_weight=[[0, 10], [0, 2]], pipeline_mean=[[1, 1], [1, 1]])
    r = plan_restock(inp, budget=120.0)
    assert list(r.buys["part_id"]) == ["P0"]
    assert r.buys["gain_per_year"].iloc[0] == pytest.approx(10 * math.exp(-1))
    assert list(r.cut["part_id"]) == ["P1"] and r.cut_amount == pytest.approx(50.0)
    assert r.cut["gain_per_year"].iloc[0] == pytest.approx(2 * math.exp(-1))
    # a cheaper unit that still fits is taken after a dear one is skipped
    r = plan_restock(inp, budget=60.0)
    assert list(r.buys["part_id"]) == ["P1"] and list(r.cut["part_id"]) == ["P0"]


def test_backorder_units_rank_first() -> None:
    inp = make_inputs([[0, 1], [0, 1]], [[0, 0], [0, 0]], backorders=[[0, 0], [0, 1]],
                      service_weight=[[0, 5], [0, 5]], pipeline_mean=[[1, 1], [1, 1]])
    r = plan_restock(inp, budget=100.0)
    assert list(r.buys["part_id"]) == ["P1"]  # clears a backorder: full weight 5 > 5 e^-1


def test_excess_and_obsolete() -> None:
    inp = make_inputs([[0, 1], [1, 1]], [[3, 0], [1, 6]], eol=[True, False],
                      demand=[[1, 1], [1, 1]])
    r = plan_restock(inp, excess_quarters=2)
    rows = {(e.part_id, e.depot_id): (e.reason, e.quantity) for e in r.excess.itertuples()}
    # P0 end of life: HQ 3 on hand, target 0, one shipped to D1 -> 2 obsolete
    # P1: D1 holds 6 vs target 1 and 2 quarters x 1 -> 3 above target
    assert rows == {("P0", "HQ"): ("end_of_life", 2), ("P1", "D1"): ("above_target", 3)}
    assert r.excess_value == pytest.approx(500.0)


def test_positions_from_rows_and_errors() -> None:
    pos = Positions.from_rows(["a"], ["HQ", "X"], [PositionRow("X", "a", on_hand=3, reserved=1,
                                                               backorders=1, in_transit=2)])
    assert pos.inventory_position[0, 1] == 3 + 2 - 1 - 1
    with pytest.raises(ValueError, match="unknown depot 'Y'"):
        Positions.from_rows(["a"], ["HQ"], [PositionRow("Y", "a")])
    with pytest.raises(ValueError, match="field 'on_hand'"):
        Positions.from_rows(["a"], ["HQ"], [PositionRow("HQ", "a", on_hand=-1)])
    with pytest.raises(ValueError, match="budget"):
        plan_restock(make_inputs([[0, 1]], [[0, 0]]), budget=-5)


@st.composite
def cases(draw):
    P, L = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    ints = st.integers(0, 6)

    def mat():
        return np.array([[draw(ints) for _ in range(L)] for _ in range(P)])

    on_hand, reserved = mat(), mat()
    reserved = np.minimum(reserved, on_hand)
    days = np.array([[draw(st.sampled_from([1.0, 3.0, 120.0])) for _ in range(L)]
                     for _ in range(L)])
    inp = make_inputs(mat(), on_hand, defective=mat(), in_transit=mat(),
                      backorders=np.minimum(mat(), 2), reserved=reserved,
                      unit_cost=[draw(st.floats(10, 500)) for _ in range(P)],
                      yield_=draw(st.sampled_from([0.5, 0.8, 1.0])),
                      turnaround=draw(st.sampled_from([10.0, 200.0])),
                      transfer_days=days, demand=mat() / 2, eol=[draw(st.booleans()) for _ in range(P)])
    budget = draw(st.one_of(st.none(), st.floats(0, 3000)))
    return inp, budget


@settings(max_examples=60, deadline=None)
@given(cases())
def test_conservation_invariants(case) -> None:
    inp, budget = case
    r = plan_restock(inp, budget)
    excess, _ = excess_and_shortfall(inp)
    flow = r.flow
    assert np.all(flow >= 0) and np.all(np.einsum("pii->pi", flow) == 0)
    assert np.all(flow.sum(axis=2) <= excess)  # never ships more than the source's excess
    assert int(r.transfers["quantity"].sum()) == flow.sum()
    assert np.all(r.repair_sent <= inp.positions.defective)
    assert int(r.repairs["quantity"].sum()) == r.repair_sent.sum()
    # units: after = before - out + in + repair credit + bought
    after = (r.position_before - flow.sum(axis=2) + flow.sum(axis=1) + r.repair_credit + r.bought)
    np.testing.assert_array_equal(r.position_after, after)
    # every position reaches its target except by exactly the cut and the dropped units
    missing = r.cut_units + r.dropped_units
    assert np.all(r.position_after + missing >= inp.target)
    short = r.position_after < inp.target
    np.testing.assert_array_equal((r.position_after + missing)[short], inp.target[short])
    assert int(r.cut["quantity"].sum()) == r.cut_units.sum()
    assert int(r.dropped["quantity"].sum()) == r.dropped_units.sum()
    assert int(r.buys["quantity"].sum()) == r.bought.sum()
    # every proposed line adds at least the floor; every dropped one less
    # (a repair line's gain is shared over its rows by units sent)
    repair_lines = r.repairs.groupby(["part_id", "to_depot"])["gain_per_year"].sum()
    for gains in (r.transfers["gain_per_year"], repair_lines, r.buys["gain_per_year"]):
        assert (gains >= r.min_gain - 1e-6).all()
    assert (r.dropped["gain_per_year"] < r.min_gain).all()
    # money: buys within the budget; a cut line did not fit in what was left or ranks below
    # every kept buy
    if budget is None:
        assert r.cut.empty
    else:
        assert r.buy_amount <= budget + 0.05
        worst_kept = r.buys["gain_per_10k"].min() if len(r.buys) else np.inf
        for c in r.cut.itertuples():
            assert c.unit_cost > budget - r.buy_amount - 0.05 or c.gain_per_10k <= worst_kept
