"""Reach agrees with earliest_arrival + compute_deadline called directly at the sampled instants."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import date, time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.domain import SizeClass, WeeklyHours
from optimizer.deadlines import compute_deadline, due_instants
from optimizer.reach import (
    FORWARD_KINDS,
    NEVER,
    WEIGHED_DEPOTS,
    Reach,
    _masks,
    _near_depots,
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
    assert s1[0][0] == "SHA"  # the depot in town: the cheapest leg
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
def test_ranking_is_cheapest_on_time_then_median_eta_then_id(setup, seed: int) -> None:
    """``_rank`` orders the depots on time at least once as the dispatch engine prefers them:
    by the mean cost of the cheapest leg on time (over the instants at which one is), then by
    median ETA, then by depot id (a plain sort with that key)."""
    sc, net, _ = setup
    rng = np.random.default_rng(seed)
    site = sc.sites[seed % len(sc.sites)]
    rows = np.arange(len(net.depots))
    T = 40
    t = np.arange(T, dtype=np.int64) * 3600
    # two modes with coarse ETAs and costs, so that costs, medians and shares tie often
    arrivals = [t[None, :] + 3600 * rng.integers(1, 4, size=(len(rows), T)) for _ in range(2)]
    for a in arrivals:
        a[rng.random(len(rows)) < 0.2] = NEVER
    costs = [rng.integers(1, 3, size=len(rows)).astype(float) * 50 for _ in range(2)]
    eta = np.minimum(*arrivals)
    due = t + 3600 * rng.integers(1, 4, size=T)
    weight = np.full(T, 1 / T)
    legs = list(zip(costs, arrivals, strict=True))
    entries, patterns, tail = _rank(net, site, rows, eta, due, t, weight, legs=legs)
    assert tail == ()  # every row weighed
    p = (eta <= due[None, :]).astype(float) @ weight
    med = [float(np.median(np.minimum(eta[r] - t, NEVER))) for r in rows]
    cheapest = [[min([c[r] for c, a in legs if a[r, k] <= due[k]], default=0.0) for k in range(T)]
                for r in rows]
    mean = [sum(cheapest[r][k] * weight[k] for k in range(T)) / p[r] if p[r] > 0 else 0.0
            for r in rows]
    ids = [d.depot_id for d in net.depots]
    want = sorted((r for r in rows if p[r] > 0), key=lambda r: (round(mean[r], 6), med[r], ids[r]))
    assert [d for d, _ in entries] == [net.depots[r].depot_id for r in want]
    assert [q for _, q in entries] == [float(p[r]) for r in want]
    assert sum(w for w, _ in patterns) == pytest.approx(1.0)
    # the medians of every row, computed once per site and size, give the same ranking
    assert _rank(net, site, rows, eta, due, t, weight, _typical(eta, t), legs=legs) == (
        entries, patterns, ())


# --- the vectorised reach equals the one-instant-at-a-time reference element by element ----------

def reference_reach(sc, net: TravelNetwork, *, year_start: date, weeks: int, step_minutes: int,
                    near: int = 16, depots: int = WEIGHED_DEPOTS) -> Reach:
    """The reach as the scalar rules give it, one (depot, site, mode, instant) at a time: picking
    and every leg by ``TravelNetwork`` (as :meth:`~TravelNetwork.earliest_arrival`), due
    instants by :func:`due_instants`, the shares and patterns summed instant by instant and the
    depots ranked by a plain sort (mean cost of the cheapest leg on time, median ETA, depot id).
    Slow: tiny inputs."""
    countries = {d.country for d in sc.depots} | {s.country for s in sc.sites}
    week_list = sampled_weeks(year_start, weeks, countries)
    by_zone = defaultdict(list)
    for j, site in enumerate(net.sites):
        by_zone[site.timezone].append(j)
    hq = net.depot_index[sc.hq.depot_id]
    forward = np.array([d.kind in FORWARD_KINDS for d in net.depots])
    keys, entries, patterns, none_due = [], [], [], []
    for tz, site_js in by_zone.items():
        instants, weight = sample_year(tz, week_list, step_minutes)
        t = np.array([int(x.timestamp()) for x in instants], dtype=np.int64)
        picked = [[net.picked_at(i, x) for x in instants] for i in range(len(net.depots))]
        for j in site_js:
            site = net.sites[j]
            contract = sc.contract(site.contract_id)
            rows, _ = _near_depots(net, j, hq, near, depots, forward)
            arrive = {}  # (row, mode) -> arrival epochs
            price = {}  # (row, mode) -> cost of the leg at each instant (inf: no leg)
            for r in rows:
                for m, mode in enumerate(net.modes):
                    legs = [net._arrival(int(r), j, mode, p) for p in picked[r]]
                    arrive[r, m] = [NEVER if g is None else int(g.arrives_at.timestamp())
                                    for g in legs]
                    price[r, m] = [np.inf if g is None else g.cost for g in legs]
            for term in sorted(contract.terms, key=lambda x: x.severity):
                dues = due_instants(term, site, instants)
                if dues is None:
                    none_due.append((site.site_id, term.severity))
                    continue
                due = [int(d.timestamp()) for d in dues]
                for size in SizeClass:
                    ms = [net.mode_index[m.mode_id] for m in net.allowed_modes(size)]
                    eta = np.array([[min([arrive[r, m][k] for m in ms], default=NEVER)
                                     for k in range(len(instants))] for r in rows], dtype=np.int64)
                    on = eta <= np.array(due)[None, :]
                    p = on.astype(float) @ weight  # the same product as the package
                    med = [float(np.median(np.minimum(eta[k] - t, NEVER))) for k in range(len(rows))]
                    # the cheapest leg on time at each instant, its mean where one is
                    cheap = np.array([[min([price[r, m][c] for m in ms if arrive[r, m][c] <= due[c]],
                                           default=0.0) for c in range(len(instants))]
                                      for r in rows])
                    cost = [round(float(cheap[k] @ weight / p[k]), 6) if p[k] > 0 else 0.0
                            for k in range(len(rows))]
                    ranked = sorted((k for k in range(len(rows)) if p[k] > 0),
                                    key=lambda k: (cost[k], med[k], net.depots[rows[k]].depot_id))
                    acc: dict[int, float] = {}
                    for c in range(len(instants)):
                        mask = sum(1 << b for b, k in enumerate(ranked) if on[k, c])
                        acc[mask] = acc.get(mask, 0.0) + float(weight[c])
                    keys.append((site.site_id, term.severity, str(size)))
                    if ranked:
                        entries.append(tuple((net.depots[rows[k]].depot_id, float(p[k]))
                                             for k in ranked))
                        patterns.append(tuple((w, m) for m, w in sorted(acc.items()) if w > 0))
                    else:
                        entries.append(())
                        patterns.append(((1.0, 0),))
    return Reach(keys, entries, patterns, none_due, year_start, weeks, step_minutes)


def _assert_same(got: Reach, want: Reach) -> None:
    assert got.keys == want.keys
    assert got.no_part_deadline == want.no_part_deadline
    for k, key in enumerate(want.keys):
        assert got.entries[k] == want.entries[k], key
        assert got.patterns[k] == want.patterns[k], key


def test_tiny_equals_the_reference() -> None:
    import scenarios

    sc = scenarios.load("tiny")
    sc = sc.with_design([c.candidate_id for c in sc.candidates])
    net = TravelNetwork(sc)
    kw = {"year_start": date(2026, 9, 21), "weeks": 3, "step_minutes": 180}  # National Day
    _assert_same(build_reach(sc, net, **kw), reference_reach(sc, net, **kw))


ODD_PLACES = [("America/Santiago", "CL"), ("Australia/Lord_Howe", "AU"), ("Asia/Kathmandu", "NP"),
              ("Europe/Berlin", "DE"), ("America/St_Johns", "CA"), ("Asia/Shanghai", "CN")]


def odd_scenario(seed: int = 0):
    """A generated scenario whose depots, sites and hubs are spread over zones with
    daylight-saving changes at midnight, half-hour and 45-minute offsets and several countries'
    holidays, some depots with Saturday hours, and its candidates open."""
    from scenarios.generator import generate

    sc = generate(2, 5, 8, seed, candidates=2)
    sc = sc.with_design([c.candidate_id for c in sc.candidates])
    rng = random.Random(seed)
    sat = WeeklyHours.parse("mon-sat 07:30-12:30")
    depots = tuple(replace(d, timezone=z, country=c, hours=sat if rng.random() < 0.3 else d.hours)
                   for d, (z, c) in zip(sc.depots, rng.choices(ODD_PLACES, k=len(sc.depots)),
                                        strict=True))
    sites = tuple(replace(s, timezone=z, country=c)
                  for s, (z, c) in zip(sc.sites, rng.choices(ODD_PLACES, k=len(sc.sites)),
                                       strict=True))
    hubs = tuple(replace(h, timezone=rng.choice(ODD_PLACES)[0]) for h in sc.hubs)
    return replace(sc, depots=depots, sites=sites, hubs=hubs)


@pytest.mark.parametrize("kind", [None, "courier", "van_run", "parcel", "air"])
def test_generated_odd_zones_equal_the_reference(kind: str | None) -> None:
    """The whole network, and each transport kind alone (with every mode, the 24x7 courier is
    mostly the earliest and would hide the others' times)."""
    sc = odd_scenario()
    if kind is not None:
        sc = replace(sc, transport_modes=tuple(replace(m, size_classes=frozenset(SizeClass))
                                               for m in sc.transport_modes if m.kind == kind))
    net = TravelNetwork(sc)
    # March-April 2026: daylight saving starts or ends in every zone above, and Easter
    kw = {"year_start": date(2026, 3, 2), "weeks": 6, "step_minutes": 210}
    got = build_reach(sc, net, **kw)
    _assert_same(got, reference_reach(sc, net, **kw))
    assert sum(map(len, got.entries)) > 0


clock_st = st.integers(0, 47).map(lambda h: h * 30)
hours_st = st.one_of(
    st.just(WeeklyHours()),
    st.builds(lambda days, a, length: WeeklyHours(False, frozenset(days), a, min(1440, a + length)),
              st.sets(st.integers(0, 6), min_size=1), clock_st, st.integers(1, 48).map(lambda h: h * 30)))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(hours_st, st.sampled_from(ODD_PLACES),
                          st.sampled_from([0.0, 0.25, 1.0, 2.5])), min_size=3, max_size=3),
       st.fixed_dictionaries({m: hours_st for m in ("courier", "parcel", "air", "van")}),
       st.sets(st.sampled_from(["courier", "parcel", "air", "van"]), min_size=1),
       st.sampled_from([time(0), time(12, 30), time(17)]),
       st.sampled_from([date(2026, 3, 23), date(2026, 9, 28), date(2026, 12, 21)]))
def test_random_calendars_equal_the_reference(depots, mode_hours, kept, cutoff, start) -> None:
    """Random depot hours, zones, holiday countries and handling times, random mode hours, a
    random subset of the modes (each moving every size) and parcel cut-off: reach equals the
    reference element by element."""
    sc = make_scenario()
    sc = replace(sc, depots=tuple(replace(d, hours=h, timezone=z, country=c, handling_hours=x)
                                  for d, (h, (z, c), x) in zip(sc.depots, depots, strict=True)),
                 transport_modes=tuple(
                     replace(m, hours=mode_hours[m.mode_id], size_classes=frozenset(SizeClass),
                             cutoff=cutoff if m.mode_id == "parcel" else m.cutoff)
                     for m in sc.transport_modes if m.mode_id in kept))
    net = TravelNetwork(sc)
    kw = {"year_start": start, "weeks": 2, "step_minutes": 300}
    _assert_same(build_reach(sc, net, **kw), reference_reach(sc, net, **kw))


# --- which locations a site's list weighs ------------------------------------------------------

@pytest.mark.parametrize("near, depots", [(0, 0), (1, 3), (3, 1), (16, 8)])
def test_the_list_weighs_the_nearest_depots_and_forward_locations_apart(near: int,
                                                                        depots: int) -> None:
    """Against a plain sort by road km (ties by index): the ``near`` nearest forward locations,
    the ``depots`` nearest other depots and the HQ, among the locations serving the site, and
    the other depots serving it (not forward locations) as the tail."""
    from scenarios.generator import generate

    sc = generate(2, 30, 6, 3, candidates=30)
    sc = sc.with_design([c.candidate_id for c in sc.candidates])
    net = TravelNetwork(sc)
    hq = net.depot_index[sc.hq.depot_id]
    forward = np.array([d.kind in FORWARD_KINDS for d in net.depots])
    assert forward.sum() > near and (~forward).sum() > depots + 1
    for j, site in enumerate(net.sites):
        serving = [i for i, d in enumerate(net.depots) if d.serves(site)]
        by_km = sorted(serving, key=lambda i: (net.road_km[i, j], i))
        fwd = [i for i in by_km if forward[i]][:near]
        other = [i for i in by_km if not forward[i]][:depots]
        want = set(fwd) | set(other) | ({hq} & set(serving))
        weighed, tail = _near_depots(net, j, hq, near, depots, forward)
        assert list(weighed) == sorted(want)
        assert list(tail) == [i for i in serving if not forward[i] and i not in want]


def test_the_tail_holds_every_other_depot_with_its_share_within_each_pattern() -> None:
    """With one depot and one forward location weighed per site, every other depot serving it
    that is on time at some instant is in the key's tail, in the order of the full ranking, and
    its share within each pattern equals the weight of the instants at which it is on time
    within that pattern, summed from the patterns of the reach that weighs every depot."""
    sc = odd_scenario(1)
    net = TravelNetwork(sc)
    kw = {"year_start": date(2026, 3, 2), "weeks": 2, "step_minutes": 240}
    narrow = build_reach(sc, net, near=1, depots=1, **kw)
    full = build_reach(sc, net, near=len(sc.depots), depots=len(sc.depots), **kw)
    assert full.keys == narrow.keys and not any(full.tails)
    forward = {d.depot_id for d in sc.depots if d.kind in FORWARD_KINDS}
    seen_tail = 0
    for k in range(len(full.keys)):
        names = [d for d, _ in full.entries[k]]
        weighed = {d for d, _ in narrow.entries[k]}
        tail_ids = [d for d, _ in narrow.tails[k]]
        # the full list is the weighed entries and the tail (and far forward locations), each
        # part in the full order
        assert [d for d in names if d in weighed] == [d for d, _ in narrow.entries[k]]
        assert tail_ids == [d for d in names if d not in weighed and d not in forward]
        seen_tail += len(tail_ids)
        bit = {d: i for i, d in enumerate(names)}
        nbit = {d: i for i, (d, _) in enumerate(narrow.entries[k])}
        for i, (w, mask) in enumerate(narrow.patterns[k]):
            # full patterns whose weighed bits give this pattern
            same = [(fw, fm) for fw, fm in full.patterns[k]
                    if sum(1 << nbit[d] for d in nbit if fm >> bit[d] & 1) == mask]
            assert sum(fw for fw, _ in same) == pytest.approx(w, abs=1e-12)
            for d, q in narrow.tails[k]:
                on = sum(fw for fw, fm in same if fm >> bit[d] & 1)
                assert q[i] == pytest.approx(on / w, abs=1e-9)
    assert seen_tail > 0


@pytest.mark.parametrize("pieces", [2, 3, 50])
def test_a_reach_built_in_pieces_equals_one_build(pieces: int) -> None:
    """Sites are independent: pieces of consecutive sites (in the reach's zone-grouped order,
    here over many zones), each built on its own network, give the same reach, keys in the same
    order."""
    sc = odd_scenario()
    net = TravelNetwork(sc)
    kw = {"year_start": date(2026, 3, 2), "weeks": 6, "step_minutes": 210}
    whole = build_reach(sc, net, **kw)
    seen: list[float] = []
    split = build_reach(sc, net, pieces=pieces, progress=seen.append, **kw)
    assert split == whole and len(whole.keys) > 0
    assert len({s.timezone for s in sc.sites}) > 1
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) == min(pieces, len(sc.sites))
