"""Reach agrees with earliest_arrival + compute_deadline called directly at the sampled instants."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.domain import SizeClass
from optimizer.deadlines import compute_deadline
from optimizer.reach import (
    NEVER,
    _masks,
    _rank,
    _typical,
    build_reach,
    sample_year,
    sampled_weeks,
)
from optimizer.travel import TravelNetwork
from tests.optimizer.test_travel import make_scenario


@pytest.fixture(scope="module")
def setup():
    sc = make_scenario()
    net = TravelNetwork(sc)
    return sc, net, build_reach(sc, net, step_minutes=120, weeks=6)


def _instants(sc, reach, site):
    """The reach's sampled instants and weights for ``site``'s zone."""
    countries = {d.country for d in sc.depots} | {s.country for s in sc.sites}
    return sample_year(site.timezone, sampled_weeks(reach.year_start, reach.weeks, countries),
                       reach.step_minutes)


def _on_time(sc, net, site_id: str, sev: int, size: SizeClass, depot_id: str, instants) -> np.ndarray:
    site = sc.site(site_id)
    contract = sc.contract(site.contract_id)
    modes = net.allowed_modes(size)
    out = []
    for t in instants:
        due = compute_deadline(contract.term(sev), site, contract, reported_at=t).due_at
        legs = [net.earliest_arrival(depot_id, site_id, m.mode_id, t) for m in modes]
        eta = min((g.arrives_at for g in legs if g is not None), default=None)
        out.append(eta is not None and eta <= due)
    return np.array(out)


def _direct_p(sc, net, site_id: str, sev: int, size: SizeClass, depot_id: str, instants,
              weights=None) -> float:
    ok = _on_time(sc, net, site_id, sev, size, depot_id, instants)
    w = np.full(len(ok), 1 / len(ok)) if weights is None else weights
    return float(ok @ w)


def test_reach_matches_direct_calls(setup) -> None:
    sc, net, reach = setup
    rng = random.Random(7)
    checked = 0
    for site in sc.sites:
        instants, weights = _instants(sc, reach, site)
        for sev in (1, 2, 3):
            for size in (SizeClass.SMALL, SizeClass.LARGE):
                got = dict(reach.depots(site.site_id, sev, size))
                for depot in sc.depots:
                    full = rng.random() < 0.3
                    sample = instants if full else instants[::7]
                    p = _direct_p(sc, net, site.site_id, sev, size, depot.depot_id, sample,
                                  weights if full else None)
                    if full:
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
    assert dict(reach.depots("S2", 1, "large"))["HQ"] == pytest.approx(1.0)  # 24x7 depot in town
    assert ("S1", 4) in reach.no_part_deadline
    assert reach.depots("S1", 4, "small") == ()


def test_patterns_are_the_instants_on_time_together(setup) -> None:
    """Each pattern's weight is the weighted share of instants at which exactly its depots are
    on time (checked against direct calls), so the dispatch rule "any depot on time now" is
    1 - weight of the empty pattern."""
    sc, net, reach = setup
    site = sc.site("S1")
    instants, weights = _instants(sc, reach, site)
    for sev in (1, 2, 3):
        entries = reach.depots("S1", sev, "small")
        k = reach.keys.index(("S1", sev, "small"))
        on = np.array([_on_time(sc, net, "S1", sev, SizeClass.SMALL, d, instants) for d, _ in entries])
        bits = (on.astype(np.int64) << np.arange(len(entries))[:, None]).sum(axis=0)
        for w, mask in reach.patterns[k]:
            assert w == pytest.approx(float(weights[bits == mask].sum()))
        assert sum(w for w, _ in reach.patterns[k]) == pytest.approx(1.0)
        every = reach.on_time_share("S1", sev, "small", {d for d, _ in entries})
        assert every == pytest.approx(float(weights[bits > 0].sum()))
        assert every >= max(p for _, p in entries) - 1e-12


def test_holiday_weeks_are_sampled_apart() -> None:
    weeks = sampled_weeks(date(2026, 1, 5), 52, {"CN"})
    assert sum(w for _, w in weeks) == 52
    assert weeks[0][1] > 1  # the plain weeks stand together
    special = {m for m, w in weeks[1:]}
    assert date(2026, 9, 28) in special  # National Day week (Oct 1-7)
    assert all(w == 1.0 for _, w in weeks[1:])


def test_holidays_change_reach() -> None:
    """Sampled over the year, holidays move on-time shares away from a plain week's: a 24x7
    window served by a business-hours depot loses the holidays it is closed on."""
    sc = make_scenario()
    net = TravelNetwork(sc)
    plain = build_reach(sc, net, step_minutes=120, weeks=1)  # 2026-01-05: a plain week
    year = build_reach(sc, net, step_minutes=120)
    lower = 0
    for k, (site_id, sev, size) in enumerate(plain.keys):
        term = sc.contract(sc.site(site_id).contract_id).term(sev)
        year_p = dict(year.entries[year.keys.index((site_id, sev, size))])
        for d, p in plain.entries[k]:
            if term.coverage.always and not sc.depot(d).hours.always:
                assert year_p.get(d, 0.0) <= p + 1e-9
                lower += year_p.get(d, 0.0) < p - 1e-6
    assert lower > 0


def test_bad_year_start() -> None:
    with pytest.raises(ValueError, match="Monday"):
        build_reach(make_scenario(), year_start=date(2025, 3, 11))


def test_bundled_tiny_scenario_agrees_at_sampled_instants() -> None:
    import scenarios

    if not hasattr(scenarios, "load"):
        pytest.skip("scenarios.load is not there yet")
    sc = scenarios.load("tiny")
    net = TravelNetwork(sc)
    reach = build_reach(sc, net, step_minutes=240, weeks=6)
    site = sc.sites[0]
    contract = sc.contract(site.contract_id)
    instants, weights = _instants(sc, reach, site)
    for term in contract.terms:
        if compute_deadline(term, site, contract, reported_at=instants[0]).due_at is None:
            assert (site.site_id, term.severity) in reach.no_part_deadline
            continue
        got = dict(reach.depots(site.site_id, term.severity, SizeClass.SMALL))
        for depot in sc.depots:
            p = _direct_p(sc, net, site.site_id, term.severity, SizeClass.SMALL, depot.depot_id,
                          instants, weights)
            assert got.get(depot.depot_id, 0.0) == pytest.approx(p)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(1, 50), st.integers(0, 2 ** 32 - 1))
def test_masks_are_the_distinct_columns(k: int, t: int, seed: int) -> None:
    """``_masks``: each instant's bitmask (bit k = row k on time) and the distinct ones
    ascending, as a plain loop over instants finds them (runs of equal instants included)."""
    rng = np.random.default_rng(seed)
    on = (rng.random((k, t)) < rng.random()).astype(float)
    on[:, t // 2:] = on[:, :1]  # a long run of equal instants
    bits = [sum(int(on[r, c]) << r for r in range(k)) for c in range(t)]
    want = sorted(set(bits))
    masks, inverse = _masks(on)
    assert [int(m) for m in masks] == want
    assert [want[i] for i in inverse] == bits


@pytest.mark.parametrize("seed", range(6))
def test_ranking_is_primary_then_median_eta_then_share(setup, seed: int) -> None:
    """``_rank`` orders the depots on time at least once: the primary first, then by median
    ETA, then by share on time, ties in row order (a plain sort with that key)."""
    sc, net, _ = setup
    rng = np.random.default_rng(seed)
    site = sc.sites[seed % len(sc.sites)]
    rows = np.arange(len(net.depots))
    T = 40
    t = np.arange(T, dtype=np.int64) * 3600
    # coarse ETAs so that medians and shares tie often; some depots never arrive
    eta = t[None, :] + 3600 * rng.integers(1, 4, size=(len(rows), T))
    eta[rng.random(len(rows)) < 0.2] = NEVER
    due = t + 3600 * rng.integers(1, 4, size=T)
    weight = np.full(T, 1 / T)
    entries, patterns = _rank(net, site, rows, eta, due, t, weight)
    p = (eta <= due[None, :]).astype(float) @ weight
    primary = net.depot_index[site.primary_depot_id]
    med = [float(np.median(np.minimum(eta[r] - t, NEVER))) for r in rows]
    want = sorted((r for r in rows if p[r] > 0), key=lambda r: (r != primary, med[r], -p[r]))
    assert [d for d, _ in entries] == [net.depots[r].depot_id for r in want]
    assert [q for _, q in entries] == [float(p[r]) for r in want]
    assert sum(w for w, _ in patterns) == pytest.approx(1.0)
    # the medians of every row, computed once per site and size, give the same ranking
    assert _rank(net, site, rows, eta, due, t, weight, _typical(eta, t)) == (entries, patterns)
