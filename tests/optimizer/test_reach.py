"""Reach agrees with earliest_arrival + compute_deadline called directly at the sampled instants."""

from __future__ import annotations

import random
from datetime import date

import pytest

from inventory.domain import SizeClass
from optimizer.deadlines import compute_deadline
from optimizer.reach import build_reach, sample_instants
from optimizer.travel import TravelNetwork
from tests.optimizer.test_travel import make_scenario


@pytest.fixture(scope="module")
def setup():
    sc = make_scenario()
    net = TravelNetwork(sc)
    return sc, net, build_reach(sc, net, step_minutes=120)


def _direct_p(sc, net, site_id: str, sev: int, size: SizeClass, depot_id: str, instants) -> float:
    site = sc.site(site_id)
    contract = sc.contract(site.contract_id)
    modes = net.allowed_modes(size)
    ok = 0
    for t in instants:
        due = compute_deadline(contract.term(sev), site, contract, reported_at=t).due_at
        legs = [net.earliest_arrival(depot_id, site_id, m.mode_id, t) for m in modes]
        eta = min((g.arrives_at for g in legs if g is not None), default=None)
        ok += eta is not None and eta <= due
    return ok / len(instants)


def test_reach_matches_direct_calls(setup) -> None:
    sc, net, reach = setup
    rng = random.Random(7)
    checked = 0
    for site in sc.sites:
        instants = sample_instants(site.timezone, reach.week_start, reach.step_minutes)
        for sev in (1, 2, 3):
            for size in (SizeClass.SMALL, SizeClass.LARGE):
                got = dict(reach.depots(site.site_id, sev, size))
                for depot in sc.depots:
                    sample = instants if rng.random() < 0.3 else instants[::7]
                    p = _direct_p(sc, net, site.site_id, sev, size, depot.depot_id, sample)
                    if sample is instants:
                        assert got.get(depot.depot_id, 0.0) == pytest.approx(p)
                        checked += 1
                    elif p > 0:
                        assert depot.depot_id in got
    assert checked > 0


def test_preference_and_response_terms(setup) -> None:
    sc, net, reach = setup
    s1 = reach.depots("S1", 3, "small")
    assert s1[0][0] == "SHA"  # primary first
    assert all(0 < p <= 1 for _, p in s1)
    # Urumqi is ~2,400 km from Beijing: HQ cannot meet a 4 h 7x24 window there
    assert "HQ" not in dict(reach.depots("S3", 1, "small"))
    assert dict(reach.depots("S2", 1, "large"))["HQ"] == 1.0  # 24x7 depot in town
    assert ("S1", 4) in reach.no_part_deadline
    assert reach.depots("S1", 4, "small") == ()


def test_bad_week_start() -> None:
    with pytest.raises(ValueError, match="Monday"):
        build_reach(make_scenario(), week_start=date(2025, 3, 11))


def test_bundled_tiny_scenario_agrees_at_sampled_instants() -> None:
    import scenarios

    if not hasattr(scenarios, "load"):
        pytest.skip("scenarios.load is not there yet")
    sc = scenarios.load("tiny")
    net = TravelNetwork(sc)
    reach = build_reach(sc, net, step_minutes=240)
    site = sc.sites[0]
    contract = sc.contract(site.contract_id)
    instants = sample_instants(site.timezone, reach.week_start, reach.step_minutes)
    for term in contract.terms:
        if compute_deadline(term, site, contract, reported_at=instants[0]).due_at is None:
            assert (site.site_id, term.severity) in reach.no_part_deadline
            continue
        got = dict(reach.depots(site.site_id, term.severity, SizeClass.SMALL))
        for depot in sc.depots:
            p = _direct_p(sc, net, site.site_id, term.severity, SizeClass.SMALL, depot.depot_id,
                          instants)
            assert got.get(depot.depot_id, 0.0) == pytest.approx(p)
