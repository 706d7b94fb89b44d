"""``build_problem`` groups demand into streams on arrays; these tests hold it to a plain
dictionary reading of the rule (written here, one (installed base row, term, pattern) at a time)
on generated scenarios with their real reach and on random reaches with the awkward cases
(repeated masks, keys without patterns or entries, repeated keys, response-only terms, tails
of depots beyond the weighed ones)."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from inventory.domain import Milestone, SizeClass
from optimizer.reach import build_reach
from optimizer.stocking.problem import build_problem, service_classes, term_shares
from optimizer.travel import TravelNetwork
from scenarios.generator import generate

LATE_KEPT = 2


def _reference_streams(sc, reach, location_ids) -> dict[str, np.ndarray]:
    """Stream arrays by the rule, with dictionaries: streams in order of first appearance."""
    where = {d: i for i, d in enumerate(location_ids)}
    part_no = {p.part_id: i for i, p in enumerate(sc.parts)}
    classes, _ = service_classes(sc)
    options_of: dict = {}
    tails = getattr(reach, "tails", None) or [()] * len(reach.keys)
    for key, entries, pats, tail in zip(reach.keys, reach.entries, reach.patterns, tails,
                                        strict=True):
        merged: dict = {}
        for i, (w, mask) in enumerate(pats):
            bits = [(mask >> k) & 1 for k in range(len(entries))]
            on = [(where[d], 1.0) for (d, _), b in zip(entries, bits, strict=True) if b]
            off = [(where[d], 0.0) for (d, _), b in zip(entries, bits, strict=True) if not b]
            far = [(where[d], q[i]) for d, q in tail if q[i] > 0]  # on time in this pattern
            pref = tuple(on + far + off[:LATE_KEPT])
            merged[pref] = merged.get(pref, 0.0) + w
        options_of[key] = list(merged.items())
    response_only = set(reach.no_part_deadline)
    streams: dict = {}
    for row in sc.installed_base:
        part = sc.part(row.part_id)
        rate = row.rate_per_year(part)
        if rate <= 0:
            continue
        site = sc.site(row.site_id)
        contract = sc.contract(site.contract_id)
        prim = where[site.primary_depot_id]
        for term, share in term_shares(contract, sc.settings.severity_mix):
            counted = (term.milestone is not Milestone.RESPONSE
                       and (site.site_id, term.severity) not in response_only)
            if counted:
                key = (site.site_id, term.severity, str(SizeClass(part.size_class)))
                options = options_of.get(key) or [((), 1.0)]
            else:
                options = [(((prim, 1.0),), 1.0)]
            for pref, w in options:
                k = (part_no[part.part_id], classes[(contract.tier, term.severity)], prim, pref,
                     counted)
                streams[k] = streams.get(k, 0.0) + rate * share * w
    width = max([1] + [len(k[3]) for k in streams])
    pref = np.full((len(streams), width), -1, dtype=np.int64)
    p = np.zeros((len(streams), width))
    for i, k in enumerate(streams):
        for m, (loc, q) in enumerate(k[3]):
            pref[i, m], p[i, m] = loc, q
    keys = list(streams)
    return {
        "stream_part": np.array([k[0] for k in keys], dtype=np.int64),
        "stream_class": np.array([k[1] for k in keys], dtype=np.int64),
        "stream_primary": np.array([k[2] for k in keys], dtype=np.int64),
        "stream_in_service": np.array([k[4] for k in keys], dtype=bool),
        "stream_rate_per_year": np.array(list(streams.values()), dtype=float),
        "stream_pref": pref,
        "stream_p_on_time": p,
    }


def _assert_same(sc, reach) -> None:
    pr = build_problem(sc, reach)
    want = _reference_streams(sc, reach, list(pr.location_ids))
    for name, arr in want.items():
        got = getattr(pr, name)
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        assert np.array_equal(got, arr), name  # bit for bit: rates add up in the same order


@cache
def _generated(parts: int, depots: int, sites: int, seed: int):
    sc = generate(parts, depots, sites, seed)
    return sc, build_reach(sc, TravelNetwork(sc))


@pytest.mark.parametrize("size", [(30, 4, 20, 1), (120, 6, 60, 2), (300, 10, 150, 3)])
def test_generated_scenarios_match_the_rule(size: tuple[int, int, int, int]) -> None:
    sc, reach = _generated(*size)
    _assert_same(sc, reach)


def test_a_generated_scenario_with_tails_matches_the_rule() -> None:
    """Two depots weighed per site: the others come as tails, after each pattern's on-time
    entries with their share within it."""
    sc = generate(40, 8, 30, 4)
    reach = build_reach(sc, TravelNetwork(sc), near=2, depots=2)
    assert any(q for tail in reach.tails for _, qs in tail for q in qs)
    _assert_same(sc, reach)


@cache
def _tiny():
    return scenarios.load("tiny")


@st.composite
def _reaches(draw):
    """A random reach over the tiny scenario's keys."""
    sc = _tiny()
    depots = [d.depot_id for d in sc.depots]
    keys, entries, patterns, tails, response = [], [], [], [], []
    for site in sc.sites:
        for term in sc.contract(site.contract_id).terms:
            if draw(st.integers(0, 5)) == 0:
                response.append((site.site_id, term.severity))
            for size in SizeClass:
                if draw(st.integers(0, 5)) == 0:
                    continue  # nothing reaches this key
                n = draw(st.integers(0, min(5, len(depots))))
                chosen = draw(st.permutations(depots))[:n]
                keys.append((site.site_id, term.severity, str(size)))
                entries.append(tuple((d, 0.5) for d in chosen))
                pats = draw(st.lists(st.tuples(st.floats(0.01, 1.0), st.integers(0, 2 ** n - 1)),
                                     max_size=4))
                patterns.append(tuple(pats))
                rest = [d for d in depots if d not in chosen]
                far = draw(st.permutations(rest))[:draw(st.integers(0, len(rest)))]
                tails.append(tuple((d, tuple(draw(st.sampled_from([0.0, 0.25, 1.0]))
                                             for _ in pats)) for d in far))
    if keys and draw(st.booleans()):  # a repeated key: the last one counts
        i = draw(st.integers(0, len(keys) - 1))
        keys.append(keys[i])
        entries.append(tuple(reversed(entries[i])))
        patterns.append(((1.0, 1),) if entries[i] else ())
        tails.append(())
    return SimpleNamespace(keys=keys, entries=entries, patterns=patterns, tails=tails,
                           no_part_deadline=response)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_reaches())
def test_random_reaches_match_the_rule(reach) -> None:
    _assert_same(_tiny(), reach)


def test_streams_are_grouped() -> None:
    """Sites sharing primary depot and preference list merge into one stream per part and
    class: fewer streams than (row, term, pattern) triples, demand conserved."""
    sc, reach = _generated(120, 6, 60, 2)
    pr = build_problem(sc, reach)
    triples = sum(len(term_shares(sc.contract(sc.site(b.site_id).contract_id),
                                  sc.settings.severity_mix)) for b in sc.installed_base)
    assert len(pr.stream_part) < 3 * triples
    keys = np.column_stack([pr.stream_part, pr.stream_class, pr.stream_primary,
                            pr.stream_in_service, pr.stream_pref, pr.stream_p_on_time])
    assert len(np.unique(keys, axis=0)) == len(keys)  # no two streams share a key
    total = sum(b.rate_per_year(sc.part(b.part_id)) for b in sc.installed_base)
    assert pr.stream_rate_per_year.sum() == pytest.approx(total)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 3), st.integers(-2, 2), st.integers(-2, 2)),
                     min_size=1, max_size=40),
       collide=st.booleans())
def test_equal_rows_groups_exactly_even_when_hashes_collide(rows, collide: bool) -> None:
    """Groups of equal rows, first rows ascending, as a dictionary gives them; with a zero hash
    multiplier (every row's hash from its last column alone) the collisions are caught and the
    rows grouped by the full sort."""
    import optimizer.stocking.problem as pr_mod

    a = np.array(rows, dtype=np.int64)
    real = pr_mod._HASH_MULT
    try:
        if collide:
            pr_mod._HASH_MULT = np.uint64(0)
        first, inverse = pr_mod.equal_rows([a[:, 0]], [a[:, 1:]])
    finally:
        pr_mod._HASH_MULT = real
    seen: dict[tuple, int] = {}
    for n, r in enumerate(rows):
        seen.setdefault(r, n)
    assert first.tolist() == sorted(seen.values())
    assert [rows[first[g]] for g in inverse] == rows
