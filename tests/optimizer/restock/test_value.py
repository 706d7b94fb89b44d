"""Order gains on the stocking model, checked against whole-problem evaluations."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.restock.plan import plan_restock
from optimizer.restock.value import PoissonProxy, StockingModel
from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.targets import class_ceiling
from tests.optimizer.restock.helpers import make_inputs
from tests.optimizer.stocking.fixtures import random_problem


def slow_first_problem() -> StockingProblem:
    """Part P0, HQ + D1 + D2. Sites prefer D1, which ships on time only 30 % of the time, then D2
    (always on time): a unit at D1 takes requests D2 would have served on time."""
    return StockingProblem(
        name="slow-first", currency="EUR", part_ids=np.array(["P0"], dtype=object),
        location_ids=np.array(["HQ", "D1", "D2"], dtype=object), parent=np.array([-1, 0, 0]),
        transit_days=np.array([0.0, 2.0, 2.0]), unit_cost=np.array([100.0]),
        repairable=np.array([False]), repair_turnaround_days=np.zeros(1),
        repair_yield=np.zeros(1), procurement_lead_time_days=np.array([40.0]),
        class_tier=np.array(["gold"], dtype=object), class_severity=np.array([1]),
        class_target=np.array([0.5]), stream_part=np.array([0]), stream_class=np.array([0]),
        stream_rate_per_year=np.array([20.0]), stream_primary=np.array([1]),
        stream_pref=np.array([[1, 2]]), stream_p_on_time=np.array([[0.3, 1.0]]),
        stream_in_service=np.array([True]))


def on_time_demand(problem: StockingProblem, S: np.ndarray) -> np.ndarray:
    """(C,) on-time demand per year of the whole problem (independent of the per-part cache)."""
    ev = evaluate(problem, S)
    return np.nan_to_num(ev.class_on_time) * problem.class_demand_per_year


def test_gains_equal_whole_problem_differences() -> None:
    pr = random_problem(3, n_parts=4, n_depots=3)
    rng = np.random.default_rng(3)
    S = rng.integers(1, 4, (4, 4))
    model = StockingModel(pr)
    parts = np.array([0, 2, 3, 1])
    deltas = np.array([[0, 1, 0, 0], [2, 0, 0, 0], [0, 0, -1, 1], [0, 0, 0, 3]])
    got = model.gains(S, parts, deltas)
    for (p, d), g in zip(zip(parts, deltas, strict=True), got, strict=True):
        without = S.copy()
        without[p] = np.maximum(without[p] - d, 0)
        np.testing.assert_allclose(g, on_time_demand(pr, S) - on_time_demand(pr, without),
                                   atol=1e-7)


def test_a_unit_that_lowers_service_is_never_bought_on_the_model() -> None:
    pr = slow_first_problem()
    base = on_time_demand(pr, np.array([[0, 0, 2]]))[0]
    worse = on_time_demand(pr, np.array([[0, 1, 2]]))[0]
    assert worse < base  # the model itself says the D1 unit lowers service
    inp = make_inputs([[0, 1, 3]], [[0, 0, 2]])
    r = plan_restock(inp, model=StockingModel(pr))
    assert list(r.buys["to_depot"]) == ["D2"] and r.buys["gain_per_year"].iloc[0] > 0
    d = r.dropped.set_index("to_depot")
    assert d.loc["D1", "quantity"] == 1 and d.loc["D1", "gain_per_year"] < 0
    assert r.bought[0, 1] == 0


def test_every_proposed_line_adds_service_on_the_plan_it_leads_to() -> None:
    pr = random_problem(11, n_parts=5, n_depots=3, monotone_p=False)
    rng = np.random.default_rng(11)
    target = rng.integers(0, 4, (5, 4))
    inp = make_inputs(target, rng.integers(0, 3, (5, 4)), unit_cost=pr.unit_cost)
    model = StockingModel(pr)
    r = plan_restock(inp, model=model, min_gain=1e-3)
    after = np.clip(r.position_after, 0, None)
    total = on_time_demand(pr, after).sum()
    for b in r.buys.itertuples():
        p, j = int(b.part_id[1:]), int(b.to_depot[1:]) if b.to_depot != "HQ" else 0
        without = after.copy()
        without[p, j] -= b.quantity
        gain = total - on_time_demand(pr, without).sum()
        assert gain >= 1e-3 - 1e-9
        assert b.gain_per_year == pytest.approx(gain, abs=1e-6)


def test_top_up_lifts_short_classes_to_the_aimed_share() -> None:
    pr = random_problem(5, n_parts=4, n_depots=3)
    S = np.ones((4, 4), dtype=np.int64)
    now = evaluate(pr, S).class_on_time
    aimed = np.minimum(now + 0.03, class_ceiling(pr) - 0.01)
    assert np.all(aimed > now)
    model = StockingModel(pr, aimed_at=aimed)
    added = model.top_up(S, 1e-3)
    assert added.sum() > 0 and np.all(added >= 0)
    after = evaluate(pr, S + added).class_on_time
    assert np.all(after >= aimed - 1e-9)


def test_fold_counts_a_members_stock_on_its_representative() -> None:
    pr = random_problem(2, n_parts=2, n_depots=2)

    def fold(lv: np.ndarray) -> np.ndarray:
        out = lv.copy()
        out[0] += lv[1]
        out[1] = 0
        return out

    S = np.array([[1, 1, 0], [0, 0, 1]])
    model = StockingModel(pr, fold=fold)
    got = model.gains(S, np.array([1]), np.array([[0, 0, 1]]))[0]
    want = on_time_demand(pr, fold(S)) - on_time_demand(pr, fold(S - [[0, 0, 0], [0, 0, 1]]))
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_poisson_proxy_values_units_up_to_the_target() -> None:
    inp = make_inputs([[0, 2]], [[0, 0]], service_weight=[[0, 10]], pipeline_mean=[[1, 1]])
    g = PoissonProxy(inp).gains(np.array([[0, 3]]), np.array([0, 0]),
                                np.array([[0, 1], [0, 3]]))[:, 0]
    e = np.exp(-1)
    assert g[0] == pytest.approx(0.0)  # the third unit is above the target of 2
    assert g[1] == pytest.approx(10 * (e + e))  # pmf(0) + pmf(1), nothing above the target


def test_screened_gains_are_exact_below_the_band_and_catch_a_harmful_unit() -> None:
    pr = random_problem(3, n_parts=4, n_depots=3)
    S = np.random.default_rng(3).integers(1, 4, (4, 4))
    parts = np.array([0, 1, 2, 3, 0])
    deltas = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 2], [1, 0, 0, 0], [0, 0, 2, 0]])
    exact = StockingModel(pr).gains(S, parts, deltas).sum(axis=1)
    band = float(np.median(exact))
    screened = StockingModel(pr, exact_below=band).gains(S, parts, deltas).sum(axis=1)
    low = screened < band
    np.testing.assert_allclose(screened[low], exact[low], atol=1e-7)
    assert low.any() and (~low).any()
    np.testing.assert_allclose(screened[~low], exact[~low], rtol=0.25)  # first order
    # the slow location early in the list: negative to first order already, so valued exactly
    inp = make_inputs([[0, 1, 3]], [[0, 0, 2]])
    r = plan_restock(inp, model=StockingModel(slow_first_problem(), exact_below=0.005))
    assert list(r.buys["to_depot"]) == ["D2"] and r.bought[0, 1] == 0
