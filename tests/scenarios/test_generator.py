"""The synthetic generator: deterministic, valid by construction, realistic spreads."""

from __future__ import annotations

import numpy as np
import pytest

from inventory.domain import DepotKind, great_circle_km
from scenarios.generator import generate
from scenarios.synth import demand_rates


def test_same_seed_same_scenario_different_seed_differs() -> None:
    a = generate(parts=40, depots=5, sites=60, seed=7)
    assert generate(parts=40, depots=5, sites=60, seed=7) == a
    b = generate(parts=40, depots=5, sites=60, seed=8)
    assert b.parts != a.parts and b.sites != a.sites


def test_sizes_and_structure() -> None:
    sc = generate(parts=500, depots=17, sites=400, seed=3)
    assert (len(sc.parts), len(sc.depots), len(sc.sites)) == (500, 17, 400)
    kinds = [d.kind for d in sc.depots]
    assert kinds.count(DepotKind.HQ) == 1 and kinds.count(DepotKind.PARTNER) == 2
    # every site is served by its nearest depot
    for s in sc.sites[:50]:
        dist = {d.depot_id: great_circle_km(s.lat, s.lon, d.lat, d.lon) for d in sc.depots}
        assert dist[s.primary_depot_id] == pytest.approx(min(dist.values()))
    # every part is installed somewhere, and history only names installed (site, part) pairs
    assert {b.part_id for b in sc.installed_base} == {p.part_id for p in sc.parts}
    installed = {(b.site_id, b.part_id) for b in sc.installed_base}
    assert {(h.site_id, h.part_id) for h in sc.demand_history} <= installed
    assert len({h.month for h in sc.demand_history}) == 24


def test_realistic_spreads() -> None:
    sc = generate(parts=2000, depots=10, sites=300, seed=5)
    cost = np.array([p.unit_cost for p in sc.parts])
    afr = np.array([p.annual_failure_rate for p in sc.parts])
    assert cost.min() >= 10 and cost.max() <= 60_000 and np.median(cost) > 300
    assert afr.min() >= 0.001 and afr.max() <= 0.2
    rep = [p for p in sc.parts if p.repairable]
    assert 0.7 <= len(rep) / len(sc.parts) <= 0.9
    assert all(10 <= p.repair_turnaround_days <= 40 and 0.7 <= p.repair_yield <= 0.98 for p in rep)
    assert all(30 <= p.procurement_lead_time_days <= 120 for p in sc.parts)


def test_history_mean_matches_the_poisson_rates() -> None:
    """Independent check: 24 months of draws average to the installed-base failure rate."""
    sc = generate(parts=300, depots=8, sites=600, seed=9)
    annual = demand_rates(sc.installed_base, sc.parts).per_year.sum()
    observed = sum(h.quantity for h in sc.demand_history) / 2.0
    # Poisson total over 2 years: sd = sqrt(2 * annual); allow 4 sd
    assert abs(observed - annual) < 4 * np.sqrt(2 * annual) / 2


def test_benchmark_size_builds() -> None:
    sc = generate(parts=5000, depots=30, sites=2000, seed=1)
    assert len(sc.parts) == 5000 and len(sc.depots) == 30


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="depots >= 2"):
        generate(parts=10, depots=1, sites=5, seed=0)


def test_site_spread_moves_sites_away_from_their_depots() -> None:
    def mean_km(sc) -> float:
        at = {d.depot_id: d for d in sc.depots}
        return float(np.mean([great_circle_km(s.lat, s.lon, at[s.primary_depot_id].lat,
                                              at[s.primary_depot_id].lon) for s in sc.sites]))

    near, far = generate(3, 6, 300, 1), generate(3, 6, 300, 1, site_spread_km=250.0)
    assert far.name.endswith("-r250-seed1") and near.name == "generated-p3-d6-s300-seed1"
    assert mean_km(far) > 1.5 * mean_km(near)
    with pytest.raises(ValueError, match="site_spread_km"):
        generate(3, 6, 10, 1, site_spread_km=0.0)
