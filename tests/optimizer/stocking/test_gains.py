"""Step gains: the subtree-only recomputation equals recomputing every pipeline of the network."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.stocking.evaluate import compact_lists, evaluate_parts, pipelines
from optimizer.stocking.gains import availability_coefficients, descendant_levels, step_gains
from tests.optimizer.stocking.fixtures import random_problem

TREE = np.array([-1, 0, 0, 1, 2, 1, 3])
"""HQ -> 1, 2; 1 -> 3, 5; 2 -> 4; 3 -> 6: three levels below the HQ."""


def _whole_network_gains(pr, S, ev, step, coef):
    """The gains with every location's pipelines recomputed at the evaluation's rates (the
    direct method: a unit at a parent changes its whole subtree)."""
    P, L = S.shape
    out = np.zeros((P, L, pr.n_classes))
    for j in range(L):
        S2 = S.copy()
        S2[:, j] = np.maximum(S2[:, j] + step, 0)
        dA = pipelines(pr, S2, ev.rate_per_year, pr.depth_order)[2] - ev.availability
        dA[S[:, j] + step < 0] = 0.0
        out[:, j, :] = np.einsum("pl,plc->pc", dA, coef)
    return out


def test_descendants_are_listed_level_by_level() -> None:
    levels = descendant_levels(TREE)
    assert [sorted(x.tolist()) for x in levels[0]] == [[1, 2], [3, 4, 5], [6]]
    assert [sorted(x.tolist()) for x in levels[1]] == [[3, 5], [6]]
    assert [x.tolist() for x in levels[3]] == [[6]]
    assert levels[4] == [] and levels[6] == []


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), step=st.sampled_from([-2, -1, 1, 2]))
def test_step_gains_equal_the_whole_network_recomputed(seed: int, step: int) -> None:
    """Moving a parent's stock changes only its subtree's availabilities, so recomputing that
    subtree gives the same gains as recomputing the whole network (up to the order of the
    sums)."""
    pr = replace(random_problem(seed, n_parts=4, n_depots=6, max_pref=4, rate_scale=5.0),
                 parent=TREE)
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 4, (pr.n_parts, pr.n_locations))
    ev = evaluate_parts(pr, S, tol=1e-12)
    coef = availability_coefficients(pr, ev)
    got = step_gains(pr, S, ev, step, coef)
    want = _whole_network_gains(pr, S, ev, step, coef)
    assert np.abs(want).max() > 0
    assert np.allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), density=st.floats(0.0, 1.0))
def test_compact_lists_keep_the_stocked_entries_in_list_order(seed: int, density: float) -> None:
    """Each stream's restricted list is its preference list without the unstocked locations."""
    pr = random_problem(seed, n_parts=3, n_depots=5, max_pref=5)
    rng = np.random.default_rng(seed)
    S = (rng.random((pr.n_parts, pr.n_locations)) < density) * rng.integers(1, 3, (pr.n_parts,
                                                                                pr.n_locations))
    loc, p, ok, orig = compact_lists(pr, S)
    width = max([1] + [int(sum(S[pr.stream_part[n], j] > 0 for j in row if j >= 0))
                       for n, row in enumerate(pr.stream_pref)])
    assert loc.shape == p.shape == ok.shape == orig.shape == (len(pr.stream_part), width)
    for n, row in enumerate(pr.stream_pref):
        cols = [k for k, j in enumerate(row) if j >= 0 and S[pr.stream_part[n], j] > 0]
        assert orig[n, ok[n]].tolist() == cols
        assert loc[n, ok[n]].tolist() == [int(row[k]) for k in cols]
        assert p[n, ok[n]].tolist() == [float(pr.stream_p_on_time[n, k]) for k in cols]
        assert ok[n].tolist() == [True] * len(cols) + [False] * (width - len(cols))
        assert not loc[n, ~ok[n]].any() and not p[n, ~ok[n]].any()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), step=st.sampled_from([-1, 1, 2]))
def test_priced_coefficients_value_the_gains_at_the_class_prices(seed: int, step: int) -> None:
    """Coefficients priced in one pass give the per-class gains valued at the prices."""
    pr = replace(random_problem(seed, n_parts=3, n_depots=6, max_pref=4, rate_scale=5.0),
                 parent=TREE)
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 4, (pr.n_parts, pr.n_locations))
    prices = rng.uniform(0.0, 3.0, pr.n_classes)
    ev = evaluate_parts(pr, S, tol=1e-12)
    per_class = step_gains(pr, S, ev, step, availability_coefficients(pr, ev)) @ prices
    priced = availability_coefficients(pr, ev, prices)
    assert priced.shape == (pr.n_parts, pr.n_locations, 1)
    got = step_gains(pr, S, ev, step, priced)[:, :, 0]
    assert np.allclose(got, per_class, rtol=1e-12, atol=1e-12 * np.abs(per_class).max())


def _on_time_demand(pr, A: np.ndarray) -> np.ndarray:
    """(C,) in-service on-time demand per year of the cascade at availabilities ``A``, stream
    by stream in plain Python: filled by the first location with stock, on time with its p."""
    out = np.zeros(pr.n_classes)
    for n in range(len(pr.stream_part)):
        reach, share = 1.0, 0.0
        for k, j in enumerate(pr.stream_pref[n]):
            if j < 0:
                break
            a = A[pr.stream_part[n], j]
            share += reach * a * pr.stream_p_on_time[n, k]
            reach *= 1.0 - a
        if pr.stream_in_service[n]:
            out[pr.stream_class[n]] += pr.stream_rate_per_year[n] * share
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_coefficients_are_the_derivatives_of_the_cascade(seed: int) -> None:
    """Each coefficient is the on-time demand's derivative in that availability (the cascade is
    linear in each one), also when two problems are asked for in turn (the kept list arrays
    belong to one problem)."""
    one = random_problem(seed, n_parts=3, n_depots=4, max_pref=4)
    other = random_problem(seed + 1, n_parts=2, n_depots=4, max_pref=3)
    rng = np.random.default_rng(seed)
    for pr in (one, other, one):
        S = rng.integers(0, 3, (pr.n_parts, pr.n_locations))
        ev = evaluate_parts(pr, S, tol=1e-12)
        coef = availability_coefficients(pr, ev)
        base = _on_time_demand(pr, ev.availability)
        for p in range(pr.n_parts):
            for j in range(pr.n_locations):
                A = ev.availability.copy()
                A[p, j] += 0.5
                want = (_on_time_demand(pr, A) - base) / 0.5
                assert np.allclose(coef[p, j], want, rtol=1e-9, atol=1e-9)
