"""The dispatch simulation (optimizer.dispatch.simulation) on hand-made networks with known answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from scipy import stats

import scenarios
from inventory.domain import (
    ClockStart,
    Contract,
    Depot,
    DepotKind,
    InstalledBase,
    Milestone,
    Part,
    Scenario,
    Settings,
    SeverityTerm,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
    WeeklyHours,
    WindowKind,
)
from optimizer.dispatch import critical_levels
from optimizer.dispatch.simulation import DispatchSimResult, simulate_dispatch
from optimizer.travel import TravelNetwork

ALWAYS = WeeklyHours()
SZ = (22.5431, 114.0579)  # Shenzhen


def term(severity: int, hours: float, milestone: Milestone = Milestone.PART_ON_SITE,
         target: float = 0.95) -> SeverityTerm:
    return SeverityTerm(severity, WindowKind.HOURS, hours, target, milestone,
                        ClockStart.TICKET_OPENED, ALWAYS)


def part(part_id: str = "P1", rate: float = 0.5, procurement_days: float = 30.0) -> Part:
    """A consumable: every unit is replaced by procurement after ``procurement_days``."""
    return Part(part_id, part_id, 100.0, False, 0.0, 0.0, procurement_days, SizeClass.SMALL, rate)


def depot(depot_id: str, lat: float, lon: float, *, kind: DepotKind = DepotKind.REGIONAL,
          parent: str | None = "HQ", lead: float = 2.0, customer: str | None = None) -> Depot:
    return Depot(depot_id, depot_id, kind, lat, lon, "Asia/Shanghai", "CN", ALWAYS,
                 None if kind is DepotKind.HQ else parent,
                 0.0 if kind is DepotKind.HQ else lead, 0.5, customer=customer)


def site(site_id: str, lat: float, lon: float, contract: str, primary: str = "HQ",
         customer: str = "Acme") -> Site:
    return Site(site_id, site_id, customer, lat, lon, "Asia/Shanghai", "CN", contract, primary)


COURIER = TransportMode("COURIER", "courier", TransportKind.COURIER, 70.0, 150.0, 3.0, ALWAYS,
                        frozenset(SizeClass))


def network(*, depots, sites, contracts, installed, parts=None) -> Scenario:
    return Scenario(name="hand", currency="CNY", horizon_days=365, settings=Settings(),
                    parts=tuple(parts or [part()]), depots=tuple(depots), sites=tuple(sites),
                    contracts=tuple(contracts), installed_base=tuple(installed),
                    transport_modes=(COURIER,))


def one_depot(quantity: int = 100, rate: float = 0.5, procurement_days: float = 30.0) -> Scenario:
    """HQ (24x7) and one site ~10 km away with a single 4 h (7x24) severity-1 term."""
    return network(
        depots=[depot("HQ", *SZ, kind=DepotKind.HQ)],
        sites=[site("S1", SZ[0] + 0.07, SZ[1], "C4H")],
        contracts=[Contract("C4H", "4 h", "platinum", (term(1, 4.0),))],
        installed=[InstalledBase("S1", "P1", quantity)],
        parts=[part("P1", rate, procurement_days)],
    )


def assert_conserved(res: DispatchSimResult) -> None:
    """on hand + pipeline - backorders = S for every replication, part and location."""
    np.testing.assert_array_equal(res.final_position,
                                  np.broadcast_to(res.base_stock, res.final_position.shape))
    assert np.all(res.final_on_hand >= 0) and np.all(res.final_in_transit <= res.final_pipeline)


def test_single_depot_matches_poisson_availability():
    # One location, deterministic procurement T: the pipeline is Poisson(lambda T) (Palm) and a
    # failure finds stock (and is then always on time: ~0.8 h away) with P(pipeline < S) (PASTA).
    sc = one_depot()
    S, lam, T = 5, 100 * 0.5, 30.0
    expected = stats.poisson.cdf(S - 1, lam * T / 365.0)
    res = simulate_dispatch(sc, {("P1", "HQ"): S}, years=40, seed=3, replications=4)
    c = res.class_index("platinum", 1)
    n = res.class_demands[c]
    assert n > 1500 and res.failures == n
    # the 0.5 warm-up years are simulated but not measured
    assert res.failures_simulated > n * (40.25 / 40)
    # stock-outs last about T, so failures are positively correlated: the binomial standard
    # error is inflated (by ~2-3x here); 4 binomial SEs x 2 is a loose but safe bound
    se = np.sqrt(expected * (1 - expected) / n)
    assert res.class_on_time[c] == pytest.approx(expected, abs=8 * se)
    assert res.class_ci_low[c] <= res.class_on_time[c] <= res.class_ci_high[c]
    # everything not on time was backordered (nothing is at risk: the courier always makes it)
    assert res.class_at_risk[c] == 0
    assert res.class_backordered[c] == n - res.class_on_time_count[c]
    assert res.fills[0] == res.class_on_time_count[c]
    assert_conserved(res)


def test_units_conserved_on_tiny_with_lean_stock():
    sc = scenarios.load("tiny")
    lean = {("PSU-1200", "HQ-SZ"): 1, ("PSU-1200", "GZ"): 1, ("FAN-T1", "SH"): 1,
            ("LC-10G-B", "HQ-SZ"): 1, ("LC-10G", "SH"): 1}
    res = simulate_dispatch(sc, lean, years=3, seed=7, replications=2,
                            levels=critical_levels(sc, lean))
    assert res.backordered > 0  # queues were exercised
    assert_conserved(res)
    assert res.final_on_hand.shape == (2, len(sc.parts), len(sc.depots))
    assert list(res.location_ids) == ["HQ-SZ", "GZ", "SH", "CD"]


def test_same_seed_same_result_and_classes_in_plan_order():
    sc = scenarios.load("tiny")
    stock = {(s.part_id, s.depot_id): s.on_hand for s in sc.stock}
    net = TravelNetwork(sc)
    a = simulate_dispatch(sc, stock, years=2, seed=11, network=net)
    b = simulate_dispatch(sc, stock, years=2, seed=11, network=net)
    c = simulate_dispatch(sc, stock, years=2, seed=12, network=net)
    for name in ("class_demands", "class_on_time_count", "fills", "site_fills", "final_on_hand",
                 "final_pipeline", "final_backorders"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.failures_simulated == b.failures_simulated != c.failures_simulated
    # class labels line up with the stocking problem's (and a plan's service.csv)
    from optimizer.reach import build_reach
    from optimizer.stocking.problem import build_problem

    problem = build_problem(sc, build_reach(sc, net))
    assert list(a.class_tier) == list(problem.class_tier)
    assert list(a.class_severity) == list(problem.class_severity)
    np.testing.assert_array_equal(a.class_target, problem.class_target)


def test_site_out_of_reach_is_never_on_time():
    # the far site is ~1,000 km from the only depot: a 4 h window cannot be met by courier
    sc = network(
        depots=[depot("HQ", *SZ, kind=DepotKind.HQ)],
        sites=[site("NEAR", SZ[0] + 0.07, SZ[1], "C4H"), site("FAR", SZ[0] + 9.0, SZ[1], "G4H")],
        contracts=[Contract("C4H", "4 h", "platinum", (term(1, 4.0),)),
                   Contract("G4H", "4 h", "gold", (term(1, 4.0),))],
        installed=[InstalledBase("NEAR", "P1", 20), InstalledBase("FAR", "P1", 20)],
    )
    res = simulate_dispatch(sc, {("P1", "HQ"): 50}, years=3, seed=1)
    far, near = res.class_index("gold", 1), res.class_index("platinum", 1)
    assert res.class_demands[far] > 0 and res.class_on_time[far] == 0.0
    assert res.class_at_risk[far] == res.class_demands[far]  # shipped, but late
    assert res.class_on_time[near] == 1.0
    assert_conserved(res)


def test_response_milestone_uses_stock_outside_the_service_figures():
    sc = network(
        depots=[depot("HQ", *SZ, kind=DepotKind.HQ)],
        sites=[site("S1", SZ[0] + 0.07, SZ[1], "MIX")],
        contracts=[Contract("MIX", "mixed", "gold", (term(1, 4.0), term(2, 4.0, Milestone.RESPONSE)))],
        installed=[InstalledBase("S1", "P1", 40)],
    )
    res = simulate_dispatch(sc, {("P1", "HQ"): 20}, years=2, seed=5)
    sev2 = res.class_index("gold", 2)
    assert np.isnan(res.class_target[sev2]) and res.class_demands[sev2] == 0
    assert np.isnan(res.class_on_time[sev2])
    assert res.no_deadline > 0
    assert res.fills.sum() == res.failures  # every failure (in service or not) took a unit
    assert res.class_demands.sum() == res.failures - res.no_deadline


def test_customer_kit_never_serves_another_customer():
    # both sites sit next to the kit of customer "Acme"; the HQ holds nothing, so the other
    # customer's failures can only wait for the HQ's procurement (backordered, late)
    sc = network(
        depots=[depot("HQ", 30.0, 110.0, kind=DepotKind.HQ),
                depot("KIT", *SZ, kind=DepotKind.CUSTOMER_KIT, customer="Acme")],
        sites=[site("OWN", SZ[0] + 0.02, SZ[1], "PLAT", primary="HQ", customer="Acme"),
               site("OTHER", SZ[0] - 0.02, SZ[1], "GOLD", primary="HQ", customer="Other")],
        contracts=[Contract("PLAT", "p", "platinum", (term(1, 4.0),)),
                   Contract("GOLD", "g", "gold", (term(1, 48.0),))],
        installed=[InstalledBase("OWN", "P1", 20), InstalledBase("OTHER", "P1", 20)],
    )
    res = simulate_dispatch(sc, {("P1", "KIT"): 40}, years=2, seed=2)
    kit = list(res.location_ids).index("KIT")
    other = list(res.site_ids).index("OTHER")
    own = list(res.site_ids).index("OWN")
    assert res.site_fills[kit, other] == 0
    assert res.site_fills[kit, own] > 0
    gold, plat = res.class_index("gold", 1), res.class_index("platinum", 1)
    assert res.class_demands[gold] > 0 and res.class_on_time[gold] == 0.0
    assert res.class_backordered[gold] == res.class_demands[gold]
    assert res.class_on_time[plat] == 1.0
    assert_conserved(res)


def test_rejects_bad_base_stock():
    sc = one_depot()
    with pytest.raises(KeyError):
        simulate_dispatch(sc, {("P1", "NOPE"): 1}, years=1, seed=0)
    with pytest.raises(ValueError):
        simulate_dispatch(sc, {("P1", "HQ"): -1}, years=1, seed=0)
    with pytest.raises(ValueError):
        simulate_dispatch(sc, {("P1", "HQ"): 1}, years=0, seed=0)


def test_progress_and_start_date():
    seen = []
    res = simulate_dispatch(one_depot(quantity=10), {("P1", "HQ"): 3}, years=1, seed=0,
                            start=date(2026, 2, 2), progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (res.failures_simulated, res.failures_simulated)
    assert res.start == date(2026, 2, 2) and res.failures_per_second > 0
