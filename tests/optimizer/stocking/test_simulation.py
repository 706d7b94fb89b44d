"""The discrete-event simulation against closed forms, invariants and the analytic model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.simulation import simulate, t_interval
from tests.optimizer.stocking.fixtures import random_problem


def single_location(rate_per_year: float, *, repairable: bool = False, repair_days: float = 0.0,
                    repair_yield: float = 0.0, procurement_days: float = 36.5,
                    depot_transit_days: float | None = None, p_on_time: float = 1.0) -> StockingProblem:
    """One part, one Poisson stream (one class) at a single stocking point.

    Without ``depot_transit_days`` the stream is served by the HQ alone (its resupply is repair or
    procurement); with it, by one depot below the HQ (transit = that many days).
    """
    if depot_transit_days is None:
        locs, parent, transit, pref = ["HQ"], [-1], [0.0], 0
    else:
        locs, parent, transit, pref = ["HQ", "D1"], [-1, 0], [0.0, depot_transit_days], 1
    return StockingProblem(
        name="single", currency="EUR", part_ids=np.array(["P"], dtype=object),
        location_ids=np.array(locs, dtype=object), parent=np.array(parent, dtype=np.int64),
        transit_days=np.array(transit), unit_cost=np.array([100.0]),
        repairable=np.array([repairable]), repair_turnaround_days=np.array([repair_days]),
        repair_yield=np.array([repair_yield]), procurement_lead_time_days=np.array([procurement_days]),
        class_tier=np.array(["gold"], dtype=object), class_severity=np.array([1]),
        class_target=np.array([0.9]), stream_part=np.array([0]), stream_class=np.array([0]),
        stream_rate_per_year=np.array([rate_per_year]), stream_primary=np.array([pref]),
        stream_pref=np.array([[pref]]), stream_p_on_time=np.array([[p_on_time]]),
        stream_in_service=np.array([True]))


# lambda = 20 / year, lead time 36.5 days = 0.1 year: pipeline Poisson(2).
CLOSED_FORM_CASES = {
    "hq-procurement": dict(procurement_days=36.5),
    # Palm: a 50/50 mix of 18.25-day repairs and 54.75-day procurements has mean 36.5 days.
    "hq-repair-mix": dict(repairable=True, repair_days=18.25, repair_yield=0.5, procurement_days=54.75),
    "depot-under-ample-hq": dict(depot_transit_days=36.5),
}


@pytest.mark.parametrize("case", sorted(CLOSED_FORM_CASES))
@pytest.mark.parametrize("stock", [1, 3])
def test_single_point_fill_rate_is_poisson_closed_form(case: str, stock: int) -> None:
    problem = single_location(20.0, **CLOSED_FORM_CASES[case])
    S = np.array([[stock]]) if problem.n_locations == 1 else np.array([[10_000, stock]])
    sim = simulate(problem, S, years=60, replications=8, seed=11, warmup_years=0.5)
    expected = stats.poisson.cdf(stock - 1, 2.0)
    j = problem.n_locations - 1
    # p_on_time = 1: the on-time share is the fill rate of the stocking point.
    assert sim.class_ci_low[0] <= expected <= sim.class_ci_high[0]
    assert sim.class_ci_high[0] - sim.class_ci_low[0] < 0.05
    assert sim.fill_rate[0, j] == pytest.approx(expected, abs=0.02)
    # PASTA: the time share with stock equals what arriving failures see.
    assert sim.availability[0, j] == pytest.approx(expected, abs=0.02)
    # Mean backorders E[(X - S)+] of the Poisson(2) pipeline.
    x = np.arange(60)
    ebo = float((np.maximum(x - stock, 0) * stats.poisson.pmf(x, 2.0)).sum())
    assert sim.mean_backorders[0, j] == pytest.approx(ebo, abs=0.05 + 0.1 * ebo)


def test_primary_outside_the_list_ships_late_from_its_own_stock() -> None:
    """Nothing reaches the site in time (empty list): late, but served from the primary's stock."""
    base = single_location(20.0, procurement_days=36.5)
    problem = StockingProblem(**{**base.__dict__, "stream_pref": np.array([[-1]]),
                                 "stream_p_on_time": np.array([[0.0]])})
    sim = simulate(problem, np.array([[3]]), years=60, replications=4, seed=5, warmup_years=0.5)
    assert sim.class_on_time[0] == 0.0
    # The primary still consumes and replenishes stock: Poisson(2) pipeline against S = 3.
    assert sim.availability[0, 0] == pytest.approx(stats.poisson.cdf(2, 2.0), abs=0.02)
    x = np.arange(60)
    ebo = float((np.maximum(x - 3, 0) * stats.poisson.pmf(x, 2.0)).sum())
    assert sim.mean_backorders[0, 0] == pytest.approx(ebo, abs=0.03)


def test_zero_stock_is_never_on_time() -> None:
    problem = random_problem(3)
    S = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    sim = simulate(problem, S, years=3, replications=2, seed=1)
    assert sim.total_demands > 0
    assert np.all(sim.class_on_time[sim.class_demands > 0] == 0.0)
    assert np.all(sim.availability == 0.0)


def test_huge_stock_gives_mean_p_on_time_of_first_choice() -> None:
    problem = random_problem(4, n_parts=3)
    S = np.full((problem.n_parts, problem.n_locations), 10_000, dtype=np.int64)
    sim = simulate(problem, S, years=20, replications=4, seed=2)
    w = problem.stream_rate_per_year
    C = problem.n_classes
    expected = (np.bincount(problem.stream_class, weights=w * problem.stream_p_on_time[:, 0], minlength=C)
                / np.bincount(problem.stream_class, weights=w, minlength=C))
    n = sim.class_demands
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(sim.class_on_time - expected) <= 4 * se + 1e-9)
    assert np.all(sim.availability == 1.0)
    assert np.all(sim.mean_backorders == 0.0)


def test_t_interval_matches_scipy() -> None:
    x = np.array([[0.8, 1.0], [0.9, np.nan], [0.85, 0.9], [0.95, 0.8]])
    mean, low, high = t_interval(x, lo=-10, hi=10)
    for c in range(2):
        col = x[~np.isnan(x[:, c]), c]
        lo, hi = stats.t.interval(0.95, len(col) - 1, loc=col.mean(), scale=stats.sem(col))
        assert mean[c] == pytest.approx(col.mean())
        assert (low[c], high[c]) == pytest.approx((lo, hi))
    one = t_interval(np.array([[0.5]]))
    assert np.isnan(one[1][0]) and one[0][0] == 0.5


def test_same_seed_same_result_and_other_seed_differs() -> None:
    problem = random_problem(5)
    S = np.ones((problem.n_parts, problem.n_locations), dtype=np.int64)
    a = simulate(problem, S, years=4, replications=3, seed=9)
    b = simulate(problem, S, years=4, replications=3, seed=9)
    c = simulate(problem, S, years=4, replications=3, seed=10)
    np.testing.assert_array_equal(a.class_on_time_by_replication, b.class_on_time_by_replication)
    np.testing.assert_array_equal(a.mean_backorders, b.mean_backorders)
    assert a.total_demands == b.total_demands
    assert not np.array_equal(a.stream_demands, c.stream_demands)
    # Parts are seeded by (seed, part, replication): simulating one part alone gives its numbers.
    alone = simulate(problem, S, years=4, replications=3, seed=9, parts=np.array([1]))
    np.testing.assert_array_equal(alone.mean_backorders[1], a.mean_backorders[1])
    assert np.all(np.isnan(alone.mean_backorders[0]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem_seed=st.integers(0, 10_000), stock_seed=st.integers(0, 10_000),
       sim_seed=st.integers(0, 10_000), max_stock=st.integers(0, 4))
def test_stock_is_conserved_and_inventory_position_stays_at_base_stock(
        problem_seed: int, stock_seed: int, sim_seed: int, max_stock: int) -> None:
    problem = random_problem(problem_seed, n_parts=3, n_depots=3, rate_scale=6.0)
    S = np.random.default_rng(stock_seed).integers(0, max_stock + 1, (problem.n_parts, problem.n_locations))
    sim = simulate(problem, S, years=1, replications=2, seed=sim_seed, warmup_years=0.2)
    # Base-stock invariant at every location: on hand + due in - backorders == S.
    np.testing.assert_array_equal(sim.final_position, np.broadcast_to(S, sim.final_position.shape))
    # Physical units: on hand + in transit + in repair/procurement == sum S + customers waiting.
    units = sim.final_on_hand.sum(axis=2) + sim.final_in_transit.sum(axis=2)
    np.testing.assert_array_equal(units, S.sum(axis=1)[None, :] + sim.final_customer_backorders)
    assert np.all(sim.final_on_hand >= 0) and np.all(sim.final_in_transit <= sim.final_pipeline)
    ok = sim.class_demands > 0
    assert np.all((sim.class_on_time[ok] >= 0) & (sim.class_on_time[ok] <= 1))


def test_bad_input_is_rejected() -> None:
    problem = random_problem(1)
    S = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    with pytest.raises(ValueError, match="shape"):
        simulate(problem, S[:, 1:], years=1, replications=1, seed=0)
    with pytest.raises(ValueError, match="whole numbers"):
        simulate(problem, S - 1, years=1, replications=1, seed=0)
    with pytest.raises(ValueError, match="replications"):
        simulate(problem, S, years=1, replications=0, seed=0)


@pytest.mark.slow
def test_analytic_model_lies_in_simulated_interval_on_tiny() -> None:
    """The greedy plan's predicted on-time share per class vs the simulation (tiny scenario)."""
    import scenarios
    from optimizer.reach import build_reach
    from optimizer.stocking.analysis import plan_problem
    from optimizer.stocking.evaluate import evaluate
    from optimizer.stocking.problem import build_problem
    from optimizer.travel import TravelNetwork

    sc = scenarios.load("tiny")
    problem = build_problem(sc, build_reach(sc, TravelNetwork(sc)))
    plan = plan_problem(problem)
    predicted = evaluate(problem, plan.levels).class_on_time
    sim = simulate(problem, plan.levels, years=300, replications=8, seed=1)
    checked = 0
    for c in np.nonzero(problem.class_constrained & (sim.class_demands > 0))[0]:
        inside = sim.class_ci_low[c] - 1e-9 <= predicted[c] <= sim.class_ci_high[c] + 1e-9
        assert inside or abs(predicted[c] - sim.class_on_time[c]) <= 0.01, problem.class_label(c)
        checked += 1
    assert checked >= 8
