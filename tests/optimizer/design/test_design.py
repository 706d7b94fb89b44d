"""Integrated network design on hand-made scenarios with known optima."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from optimizer.design import DesignObjective, build_design_problem, solve_design
from optimizer.design.bound import coverage_bound
from optimizer.design.plan import plan_design
from optimizer.stocking.evaluate import evaluate_parts
from optimizer.stocking.targets import class_ceiling, target_plan
from tests.optimizer.design.scenarios import (
    cheapest_saving_design,
    closable_depot,
    remote_site,
    stock_saving,
)


def _poisson_level(mean: float, target: float) -> int:
    """Smallest S with P(Poisson(mean) < S) >= target."""
    s = 0
    while stats.poisson.cdf(s - 1, mean) < target:
        s += 1
    return s


def test_one_candidate_one_site_closed_form() -> None:
    """Only the candidate reaches the site: open it and hold the Poisson quantile there.

    Its pipeline is the 2-day transfer plus the HQ's delay; with the HQ empty that delay is the
    1-day purchase, so S = min{s: P(Poisson(2/yr x 3 days) < s) >= 99 %} = 2 (1 unit gives
    98.4 %), and the yearly cost is the fixed cost plus 20 % of two units' value."""
    sc = remote_site(target=0.99, rate=2.0)
    dp = build_design_problem(sc)
    res = solve_design(dp)
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    s = _poisson_level(2.0 * 3 / 365, 0.99)
    assert s == 2
    assert res.open[ix["K-HFE"]]
    assert res.levels[0, ix["K-HFE"]] == s
    assert res.levels.sum() == s
    assert res.yearly_cost == pytest.approx(50_000 + 0.2 * 10_000 * s)
    assert res.feasible
    # brute force over the HQ and candidate levels (the Shanghai depot never reaches the site)
    best = np.inf
    for s0, sk in itertools.product(range(3), range(4)):
        S = np.zeros((1, dp.stocking.n_locations), dtype=np.int64)
        S[0, 0], S[0, ix["K-HFE"]] = s0, sk
        ev = evaluate_parts(dp.stocking, S)
        if ev.class_on_time[0] >= 0.99:
            best = min(best, 50_000 + 0.2 * 10_000 * (s0 + sk))
    assert res.yearly_cost == pytest.approx(best)
    assert res.bound is not None and res.bound <= res.yearly_cost + 1e-6
    assert res.gap == pytest.approx((res.yearly_cost - res.bound) / res.yearly_cost)


def test_target_reachable_only_with_the_candidate() -> None:
    sc = remote_site(target=0.9)
    dp = build_design_problem(sc)
    existing = ~dp.is_candidate
    assert class_ceiling(dp.stocking, existing)[0] == pytest.approx(0.0)
    assert target_plan(dp.stocking).reachable[0]  # with the candidate it is
    d = plan_design(sc)
    assert d.opened == ["K-HFE"]
    assert d.plan.class_met[0] and d.plan.feasible
    assert d.before is not None and not d.before.feasible
    assert d.before.plan.class_on_time[0] < 0.9 and not d.before.plan.class_reachable[0]
    assert d.yearly_cost == pytest.approx(d.chosen.fixed_cost + 0.2 * d.plan.investment)
    assert d.bound is not None and d.bound <= d.yearly_cost + 1e-6
    # without the candidate the class is named unreachable, with its site and what would reach it
    closed = plan_design(sc, DesignObjective(force_closed=("K-HFE",)), with_sequential=False)
    assert not closed.plan.class_reachable[0] and not closed.plan.feasible
    hb = closed.hold_backs
    assert [h.site_id for h in hb] == ["S1"]
    assert hb[0].nearest == "K-HFE" and hb[0].nearest_hours < 4
    assert hb[0].radius_km and hb[0].radius_km > 50


def test_integrated_beats_sequential_by_the_stock_it_saves() -> None:
    """Checked by hand: R-SHA alone covers the site, so locating by coverage opens nothing and
    each of the 5 parts needs 2 units there (5/yr x 21 days: 1 unit 75.0 %, 2 units 96.5 %);
    the candidate (1-day refill: 5/yr x 2 days, 1 unit 97.3 %) needs 1 unit per part. Opening it
    costs 50,000 a year and saves 5 x 20 % x 100,000 = 100,000 of carrying cost."""
    m_r, m_k = 5 * 21 / 365, 5 * 2 / 365
    assert _poisson_level(m_r, 0.95) == 2 and _poisson_level(m_k, 0.95) == 1
    dp = build_design_problem(stock_saving())
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    integrated = solve_design(dp)
    sequential = plan_design(stock_saving(), with_before=False).sequential
    assert integrated.open[ix["K-SHA"]] and "K-SHA" not in sequential.opened
    assert integrated.yearly_cost == pytest.approx(50_000 + 5 * 0.2 * 100_000)
    assert sequential.yearly_cost == pytest.approx(5 * 2 * 0.2 * 100_000)
    assert integrated.feasible and sequential.feasible


def test_planner_rules() -> None:
    dp = build_design_problem(stock_saving())
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    none = solve_design(dp, DesignObjective(max_new=0))
    assert not none.open[ix["K-SHA"]]
    assert none.yearly_cost == pytest.approx(5 * 2 * 0.2 * 100_000)
    closed = solve_design(dp, DesignObjective(force_closed=("K-SHA",)))
    assert not closed.open[ix["K-SHA"]]
    forced = solve_design(dp, DesignObjective(force_open=("K-SHA",)))
    assert forced.open[ix["K-SHA"]]
    budget = solve_design(dp, DesignObjective(budget=120_000))
    assert budget.yearly_cost <= 120_000 + 1e-6
    with pytest.raises(KeyError, match="NOPE"):
        solve_design(dp, DesignObjective(force_open=("NOPE",)))
    with pytest.raises(ValueError, match="neither a candidate nor closable"):
        solve_design(dp, DesignObjective(force_closed=("R-SHA",)))


def test_coverage_bound_is_below_every_brute_force_design() -> None:
    """The bound never exceeds the cheapest design found by enumerating designs and levels."""
    dp = build_design_problem(stock_saving(n_parts=2))
    aimed = target_plan(dp.stocking).aimed_at
    bound = coverage_bound(dp, aimed).value
    best = cheapest_saving_design(dp)
    assert bound <= best + 1e-6
    assert solve_design(dp).yearly_cost == pytest.approx(best)


def test_system_bound_charges_the_units_the_resupply_pipeline_holds() -> None:
    """A part bought in 60 days, 50 failures a year: about 8.2 units are always on their way to
    the HQ, so at 90 % the real network needs n* = min{n: P(Poisson(8.2) < n) >= 90 %} units in
    all, wherever they sit. The system bound (MIP here) is the candidate's fixed cost plus n*
    units; the model bound charges one unit and lies below the model's cheapest design (brute
    force), which the METRIC-type model finds with at most one unit fewer than n*."""
    from dataclasses import replace

    sc = remote_site(target=0.9, rate=50.0)
    sc = replace(sc, parts=(replace(sc.parts[0], procurement_lead_time_days=60.0),))
    dp = build_design_problem(sc)
    aimed = target_plan(dp.stocking).aimed_at
    n_star = _poisson_level(50 * 60 / 365, 0.9)
    system = coverage_bound(dp, aimed, system=True)
    model = coverage_bound(dp, aimed)
    assert system.integer and model.integer
    assert system.value == pytest.approx(50_000 + 0.2 * 10_000 * n_star, rel=1e-6)
    assert model.value == pytest.approx(50_000 + 0.2 * 10_000 * 1, rel=1e-6)
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    best = np.inf
    for s0, sk in itertools.product(range(n_star + 4), range(n_star + 4)):
        S = np.zeros((1, dp.stocking.n_locations), dtype=np.int64)
        S[0, 0], S[0, ix["K-HFE"]] = s0, sk
        if evaluate_parts(dp.stocking, S).meets_targets(dp.stocking, aimed):
            best = min(best, 50_000 + 0.2 * 10_000 * (s0 + sk))
    assert model.value <= best + 1e-6
    assert n_star - 1 <= (best - 50_000) / 2_000


def test_the_designs_system_bound_is_left_out_above_its_size(monkeypatch) -> None:
    """The design reports the real network's bound where its model is small enough and no figure
    (rather than a timed-out 0) above :data:`SYSTEM_GROUPS` groups."""
    import optimizer.design.solve as solve_mod

    dp = build_design_problem(remote_site(target=0.9))
    assert solve_design(dp).system_bound is not None
    monkeypatch.setattr(solve_mod, "SYSTEM_GROUPS", 0)
    res = solve_design(dp)
    assert res.system_bound is None and res.bound is not None


def test_location_capacity_is_kept_by_the_plan(tmp_path) -> None:
    """A forced-open candidate of 2 units (the uncapped plan stocks one unit of each of 5 parts
    there): the plan holds at most 2 units there, still meets every target, and the files say
    every location is within its capacity."""
    import csv
    import json
    from dataclasses import replace

    from optimizer.design.io import write_design
    from optimizer.design.plan import capacity_overruns

    sc = stock_saving()
    free = plan_design(sc, DesignObjective(force_open=("K-SHA",)), with_sequential=False,
                       with_before=False)
    k_free = list(free.plan.location_ids).index("K-SHA")
    assert free.plan.levels[:, k_free].sum() > 2
    sc = replace(sc, candidates=(replace(sc.candidates[0], capacity_units=2),))
    d = plan_design(sc, DesignObjective(force_open=("K-SHA",)), with_sequential=False,
                    with_before=False)
    k = list(d.plan.location_ids).index("K-SHA")
    assert d.plan.levels[:, k].sum() <= 2
    assert d.plan.feasible
    assert d.plan.investment >= free.plan.investment - 1e-6
    assert capacity_overruns(d.chosen) == [] and d.overruns == ()
    write_design(d, tmp_path)
    rows = {r["location_id"]: r for r in csv.DictReader((tmp_path / "design.csv").open())}
    assert rows["K-SHA"]["within_capacity"] == "yes" and rows["K-SHA"]["capacity_units"] == "2"
    assert json.loads((tmp_path / "summary.json").read_text())["capacity_overruns"] == []
    # the check itself: the uncapped plan's levels on the capped network overrun the cap
    over = capacity_overruns(replace(free.chosen, scenario=d.chosen.scenario))
    assert [(o.location_id, o.cap_units) for o in over] == [("K-SHA", 2)]


def test_when_no_candidate_may_open_the_design_aims_at_the_existing_networks_ceiling() -> None:
    """``max_new=0``: the shares aimed at are those the network without candidates can reach,
    not those every candidate open would."""
    import scenarios
    from optimizer.design.solve import design_targets

    dp = build_design_problem(scenarios.load("tiny"))
    rules = DesignObjective(max_new=0).rules(dp)
    existing = target_plan(dp.stocking, class_ceiling(dp.stocking, ~dp.is_candidate)).aimed_at
    every = design_targets(dp, DesignObjective().rules(dp)).aimed_at
    got = design_targets(dp, rules).aimed_at
    assert np.allclose(got, existing, equal_nan=True)
    assert np.nanmax(every - got) > 0  # the candidates would reach more




def test_the_chosen_network_is_stocked_from_the_designs_levels(monkeypatch) -> None:
    """The stocking solve of the chosen network starts from the design's levels (on its own
    locations) and ends no dearer than the design's stock."""
    import optimizer.stocking.analysis as analysis

    seen = []
    real = analysis.solve

    def spy(problem, *args, **kw):
        seen.append((list(problem.location_ids), kw.get("initial")))
        return real(problem, *args, **kw)

    monkeypatch.setattr(analysis, "solve", spy)
    d = plan_design(stock_saving(), with_sequential=False, with_before=False)
    assert d.opened == ["K-SHA"]
    (locs, initial), = seen
    ix = {str(x): j for j, x in enumerate(d.problem.location_ids)}
    assert initial is not None
    assert np.array_equal(initial, d.design.levels[:, [ix[x] for x in locs]])
    assert d.plan.feasible and d.plan.investment <= d.design.investment + 1e-6


def test_a_design_keeping_a_closable_depot_is_refined_without_it(monkeypatch) -> None:
    """When the chosen design keeps a closable depot, the first refine prices every location but
    the closable depots, so that the master has a vector per part that lets it close them."""
    import optimizer.design.solve as solve_mod

    blocked_seen = []
    real = solve_mod.paths

    def spy(problem, prices, pool, **kw):
        blocked_seen.append(np.asarray(kw.get("blocked")).copy())
        return real(problem, prices, pool, **kw)

    monkeypatch.setattr(solve_mod, "paths", spy)
    dp = build_design_problem(closable_depot())
    ix = {str(x): j for j, x in enumerate(dp.location_ids)}
    res = solve_design(dp)
    assert res.open[ix["P-SHA"]] and res.feasible  # 20,000 + 5 units beat the kit's route
    lean = np.zeros(dp.stocking.n_locations, dtype=bool)
    lean[ix["P-SHA"]] = True
    assert any(np.array_equal(b, lean) for b in blocked_seen)
    blocked_seen.clear()
    forced = solve_design(dp, DesignObjective(force_open=("P-SHA",)))  # not closable then
    assert forced.open[ix["P-SHA"]]
    assert not any(np.array_equal(b, lean) for b in blocked_seen)


def test_a_refine_mip_stopped_before_a_whole_design_is_solved_again(monkeypatch) -> None:
    """A refine master MIP that reaches its time limit without a column for every part gets one
    more solve with :data:`RETRY_TIME` times the limit, and its design counts; each MIP's end
    is in the notes."""
    from dataclasses import replace

    import optimizer.design.solve as solve_mod

    calls = []
    real = solve_mod.solve_design_master

    def flaky(pool, dp, targets, rules, **kw):
        res = real(pool, dp, targets, rules, **kw)
        if kw.get("integer", True):
            calls.append(kw["time_limit_s"])
            if len(calls) == 2:  # the first refine's MIP: as if stopped early
                choice = res.choice.copy()
                choice[0] = -1
                return replace(res, choice=choice, status=solve_mod.TIME_LIMIT)
        return res

    monkeypatch.setattr(solve_mod, "solve_design_master", flaky)
    monkeypatch.setattr(solve_mod, "_lp_design", lambda *a, **k: (None, -np.inf))  # MIPs only
    dp = build_design_problem(stock_saving())
    res = solve_design(dp, time_limit_s=7.0)
    assert calls[:3] == [7.0, 7.0, 7.0 * solve_mod.RETRY_TIME]
    assert res.feasible
    notes = [n for n in res.notes if "master MIP" in n]
    assert notes[1].startswith("refine 1 master MIP: Time limit reached")
    assert "1 part(s) without a column" in notes[1]
    assert notes[2].startswith(f"refine 1 master MIP, again with {solve_mod.RETRY_TIME}x")


def test_a_refine_mip_stopped_by_its_time_limit_without_a_better_design_does_not_end_the_search(
        monkeypatch) -> None:
    """A refine MIP that reaches its time limit holding only the design it started from proves
    nothing about its pool: the next refine round still prices that design (it used to end the
    search there)."""
    from dataclasses import replace

    import optimizer.design.solve as solve_mod

    events: list[str] = []
    first = []
    real = solve_mod.solve_design_master

    def stalled(pool, dp, targets, rules, **kw):
        res = real(pool, dp, targets, rules, **kw)
        if not kw.get("integer", True):
            events.append("lp")
            return res
        events.append("mip")
        first.append(res)
        if events.count("mip") == 2:  # the first refine's MIP: the first MIP's design, at its limit
            return replace(first[0], status=solve_mod.TIME_LIMIT)
        return res

    monkeypatch.setattr(solve_mod, "solve_design_master", stalled)
    monkeypatch.setattr(solve_mod, "_lp_design", lambda *a, **k: (None, -np.inf))  # MIPs only
    res = solve_design(build_design_problem(stock_saving()), time_limit_s=7.0)
    notes = [n for n in res.notes if "master MIP" in n]
    assert notes[1].startswith("refine 1 master MIP: Time limit reached")
    second_mip = [i for i, e in enumerate(events) if e == "mip"][1]
    assert "lp" in events[second_mip + 1:], events  # refine 2 priced the design's stock
    assert res.feasible


def test_the_lps_rounded_design_is_a_whole_design_and_its_bound_lies_below_the_pool_optimum(
        ) -> None:
    """:func:`_lp_design` on a pool: the LP's objective is at most the full master MIP's
    optimum over that pool, the rounded design's answer at least it, picks a column for every
    part, meets the targets the MIP asks for, and is None where it would open more candidates
    than ``max_new`` allows."""
    import optimizer.design.solve as solve_mod
    from optimizer.design.master import DesignRules, solve_design_master
    from optimizer.stocking.columns import ColumnPool, evaluate_columns

    dp = build_design_problem(stock_saving())
    pr = dp.stocking
    aimed = solve_mod.design_targets(dp, DesignRules()).aimed_at
    pool = ColumnPool(pr.n_locations, pr.n_classes)
    rng = np.random.default_rng(0)
    P, L = pr.n_parts, pr.n_locations
    evaluate_columns(pr, np.repeat(np.arange(P), 40), rng.integers(0, 3, size=(40 * P, L)), pool)
    rounded, bound = solve_mod._lp_design(pool, dp, aimed, DesignRules(), time_limit_s=7.0,
                                          mip_gap=1e-9)
    whole = solve_design_master(pool, dp, aimed, DesignRules(), time_limit_s=7.0, mip_gap=1e-9)
    assert whole.choice is not None and rounded is not None
    assert bound <= whole.objective + 1e-6 <= rounded.objective + 2e-6
    assert np.all(rounded.choice >= 0)
    S = pool.arrays()[1][rounded.choice]
    assert not np.any(S[:, (rounded.open < 0.5)])  # nothing stocked where the design is closed
    assert evaluate_parts(pr, S).meets_targets(pr, aimed, tol=1e-6)
    opened = int((rounded.open > 0.5)[dp.is_candidate].sum())
    if opened:
        none, _ = solve_mod._lp_design(pool, dp, aimed, DesignRules(max_new=opened - 1),
                                       time_limit_s=7.0, mip_gap=1e-9)
        assert none is None or int((none.open > 0.5)[dp.is_candidate].sum()) <= opened - 1


def test_a_refine_round_takes_the_lps_design_within_the_mip_gap_and_else_starts_from_it(
        monkeypatch) -> None:
    """A refine round whose LP design is within the MIP gap of the LP bound takes it without
    the MIP over every design (its note says so); one that is not, but beats the incumbent,
    hands it to that MIP as its first incumbent."""
    from dataclasses import replace

    import optimizer.design.solve as solve_mod

    def run(close: bool) -> tuple[list, list, object]:
        starts, seen = [], []
        real, real_lp = solve_mod.solve_design_master, solve_mod._lp_design

        def master(pool, dp, targets, rules, **kw):
            if kw.get("integer", True) and not rules.force_open and not rules.force_closed:
                starts.append(kw.get("start"))
            return real(pool, dp, targets, rules, **kw)

        def lp_design(pool, dp, aimed, rules, **kw):
            got, bound = real_lp(pool, dp, aimed, rules, **kw)
            assert got is not None
            got = replace(got, objective=got.objective - 1.0)  # below the incumbent
            seen.append(got)
            return got, (got.objective if close else got.objective * 0.5)

        monkeypatch.setattr(solve_mod, "solve_design_master", master)
        monkeypatch.setattr(solve_mod, "_lp_design", lp_design)
        res = solve_design(build_design_problem(stock_saving()), time_limit_s=7.0)
        monkeypatch.undo()
        return starts, seen, res

    starts, seen, res = run(close=True)
    assert len(starts) == 1 and seen  # the first master MIP only
    assert [n for n in res.notes if n.startswith("refine 1 master MIP")][0].startswith(
        f"refine 1 master MIP: {solve_mod.ROUNDED}")
    starts, seen, res = run(close=False)
    assert len(starts) >= 2 and np.array_equal(starts[1], seen[0].choice)


def test_hold_backs_count_what_the_tail_reaches() -> None:
    """A pattern none of whose weighed depots is allowed and on time is reached, at the share of
    its instants the first allowed tail depot is on time within it (as the ceiling counts it)."""
    from optimizer.design.holdback import hold_backs
    from optimizer.reach import Reach, build_reach
    from optimizer.travel import TravelNetwork

    sc = remote_site(rate=2.0)
    full = sc.with_design(["K-HFE"])
    net = TravelNetwork(full)
    real = build_reach(full, net)
    keys = [k for k in real.keys if k[:2] == ("S1", 1)]
    reach = Reach(keys, [(("K-HFE", 0.5),)] * len(keys), [((0.5, 1), (0.5, 0))] * len(keys), [],
                  real.year_start, real.weeks, real.step_minutes,
                  [(("R-SHA", (0.0, 0.6)), ("HQ", (1.0, 1.0)))] * len(keys))

    def unreached(allowed: set[str]) -> float:
        hb = hold_backs(full, reach, net, [("platinum", 1)], allowed=allowed)
        return sum(h.unreached_per_year for h in hb)

    per_year = 2.0  # the site's failures of severity 1 (the only severity) a year
    assert unreached({"K-HFE", "R-SHA"}) == pytest.approx(per_year * 0.5 * (1 - 0.6))
    assert unreached({"R-SHA"}) == pytest.approx(per_year * (0.5 * 1.0 + 0.5 * (1 - 0.6)))
    assert unreached({"K-HFE"}) == pytest.approx(per_year * 0.5)
    assert unreached({"K-HFE", "HQ"}) == 0.0  # the HQ (first allowed) is on time at all of them
