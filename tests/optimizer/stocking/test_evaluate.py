import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from optimizer.stocking.evaluate import evaluate
from optimizer.stocking.problem import StockingProblem
from tests.optimizer.stocking.fixtures import random_problem


def _single_location(rate: float, T: float, p: float = 1.0) -> StockingProblem:
    """HQ only, one consumable part, one stream filled at the HQ."""
    return StockingProblem(
        name="one", currency="EUR", part_ids=np.array(["A"], dtype=object),
        location_ids=np.array(["HQ"], dtype=object), parent=np.array([-1]), transit_days=np.zeros(1),
        unit_cost=np.array([10.0]), repairable=np.array([False]), repair_turnaround_days=np.zeros(1),
        repair_yield=np.zeros(1), procurement_lead_time_days=np.array([T]),
        class_tier=np.array(["gold"], dtype=object), class_severity=np.array([1]),
        class_target=np.array([0.9]), stream_part=np.array([0]), stream_class=np.array([0]),
        stream_rate_per_year=np.array([rate]), stream_primary=np.array([0]),
        stream_pref=np.array([[0]]), stream_p_on_time=np.array([[p]]),
        stream_in_service=np.array([True]))


@pytest.mark.parametrize("S", [0, 1, 3, 7])
def test_single_location_is_poisson_base_stock(S: int) -> None:
    rate, T = 40.0, 30.0
    m = rate * T / 365.0
    ev = evaluate(_single_location(rate, T, p=0.8), np.array([[S]]))
    assert ev.availability[0, 0] == pytest.approx(stats.poisson.cdf(S - 1, m), abs=1e-9)
    ebo = sum((x - S) * stats.poisson.pmf(x, m) for x in range(S, 300))
    assert ev.backorders[0, 0] == pytest.approx(ebo, abs=1e-9)
    assert ev.class_on_time[0] == pytest.approx(0.8 * stats.poisson.cdf(S - 1, m), abs=1e-9)
    assert ev.hq_delay_days[0] == pytest.approx(ebo / rate * 365.0, abs=1e-9)  # Little's law


def test_depot_pipeline_is_transit_plus_share_of_hq_backorders() -> None:
    pr = random_problem(4, n_parts=3, n_depots=2)
    S = np.array([[1, 1, 2], [0, 2, 1], [2, 0, 0]])
    ev = evaluate(pr, S)
    lam = ev.rate_per_year
    # every unit used anywhere is eventually resupplied through the HQ
    assert np.allclose(lam[:, 0], np.bincount(pr.stream_part, weights=pr.stream_rate_per_year, minlength=3))
    f = lam[:, 1:] / lam[:, [0]]
    expect = lam[:, 1:] * pr.transit_days[1:] / 365.0 + f * ev.backorders[:, [0]]
    assert np.allclose(ev.pipeline_mean[:, 1:], expect)


def test_chunked_evaluation_equals_whole() -> None:
    pr = random_problem(7, n_parts=9)
    S = np.random.default_rng(0).integers(0, 3, (9, 4))
    a, b = evaluate(pr, S), evaluate(pr, S, chunk_parts=4)
    assert np.allclose(a.availability, b.availability, atol=1e-9)
    assert np.allclose(a.class_on_time, b.class_on_time, atol=1e-9, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), part=st.integers(0, 2), loc=st.integers(0, 3),
       base=st.integers(0, 2))
def test_more_stock_never_lowers_service(seed: int, part: int, loc: int, base: int) -> None:
    pr = random_problem(seed, n_parts=3, n_depots=3, monotone_p=True)
    S = np.random.default_rng(seed).integers(0, base + 1, (3, 4))
    before = evaluate(pr, S).class_on_time
    S[part, loc] += 1
    after = evaluate(pr, S).class_on_time
    ok = ~np.isnan(before)
    assert np.all(after[ok] >= before[ok] - 1e-8)


def _tail_moments(mean: float, var: float, S: int) -> tuple[float, float, float]:
    """P(X < S), E[(X-S)^+], Var[(X-S)^+] by direct summation of the pmf (scipy.stats)."""
    x = np.arange(0, 400)
    if var > mean * (1 + 1e-9) and mean > 0:
        p = mean / var
        pmf = stats.nbinom.pmf(x, mean * p / (1 - p), p)
    else:
        pmf = stats.poisson.pmf(x, mean)
    over = np.maximum(x - S, 0)
    ebo = float(pmf @ over)
    return float(pmf[:S].sum()), ebo, float(pmf @ over**2) - ebo**2


def test_pipelines_on_a_three_level_tree_match_a_per_location_recursion() -> None:
    """The level-vectorised pipelines equal a location-by-location VARI-METRIC recursion."""
    from dataclasses import replace

    from optimizer.stocking.evaluate import pipelines

    pr = random_problem(7, n_parts=3, n_depots=5)
    pr = replace(pr, parent=np.array([-1, 0, 0, 1, 2, 1]))  # HQ -> 1, 2 -> 3, 5 (under 1), 4
    rng = np.random.default_rng(7)
    S = rng.integers(0, 4, (3, 6))
    lam = rng.uniform(0.5, 6.0, (3, 6))
    for j in (2, 1, 0):  # a parent's rate includes its children's orders
        lam[:, j] += lam[:, pr.parent == j].sum(axis=1)
    mean, var, A, ebo, vbo, _ = pipelines(pr, S, lam, pr.depth_order)
    T = pr.hq_resupply_days / 365.0
    for p in range(3):
        ref: dict[int, tuple[float, float]] = {}
        for j in (0, 1, 2, 3, 4, 5):  # parents before children
            q = pr.parent[j]
            if q < 0:
                m = v = lam[p, j] * T[p]
            else:
                f = lam[p, j] / lam[p, q]
                t = lam[p, j] * pr.transit_days[j] / 365.0
                m = t + f * ref[q][0]
                v = t + f * (1 - f) * ref[q][0] + f * f * ref[q][1]
            a, e, ve = _tail_moments(m, v, int(S[p, j]))
            ref[j] = (e, ve)
            assert mean[p, j] == pytest.approx(m, rel=1e-9)
            assert var[p, j] == pytest.approx(v, rel=1e-9)
            assert A[p, j] == pytest.approx(a, abs=1e-9)
            assert ebo[p, j] == pytest.approx(e, abs=1e-9)
            assert vbo[p, j] == pytest.approx(ve, abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), warm=st.booleans())
def test_parts_evaluated_together_equal_each_part_alone(seed: int, warm: bool) -> None:
    """Parts are independent: each stops iterating on its own and the slower ones go on as a
    smaller problem, which must not mix their streams (a part without stock and parts with
    much converge at different speeds)."""
    from optimizer.stocking.evaluate import evaluate_parts, subproblem

    pr = random_problem(seed, n_parts=7, n_depots=3, rate_scale=6.0)
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 6, (pr.n_parts, pr.n_locations))
    S[rng.integers(pr.n_parts)] = 0
    start = rng.uniform(0, 1, S.shape) if warm else None
    together = evaluate_parts(pr, S, tol=1e-12, initial_availability=start)
    for p in range(pr.n_parts):
        alone = evaluate_parts(subproblem(pr, np.array([p])), S[[p]], tol=1e-12,
                               initial_availability=None if start is None else start[[p]])
        assert np.allclose(together.availability[p], alone.availability[0], atol=1e-10)
        mine = pr.stream_part == p
        assert np.allclose(together.stream_on_time[mine], alone.stream_on_time, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), warm=st.booleans())
def test_merged_streams_give_the_fixed_point_of_the_streams_apart(seed: int, warm: bool) -> None:
    """The fixed point runs on the streams merged by (part, primary, restricted list): the same
    availabilities and per-stream figures as on every stream apart (merging switched off)."""
    import optimizer.stocking.evaluate as ev_mod

    pr = random_problem(seed, n_parts=5, n_depots=3, n_sites=20, rate_scale=6.0)
    rng = np.random.default_rng(seed)
    S = rng.integers(0, 4, (pr.n_parts, pr.n_locations))
    start = rng.uniform(0, 1, S.shape) if warm else None
    merged = ev_mod.evaluate_parts(pr, S, tol=1e-12, initial_availability=start)
    real = ev_mod.merge_streams
    try:
        ev_mod.merge_streams = lambda problem, loc, p, ok: (problem, loc, p, ok,
                                                            np.arange(len(loc)))
        apart = ev_mod.evaluate_parts(pr, S, tol=1e-12, initial_availability=start)
    finally:
        ev_mod.merge_streams = real
    assert np.allclose(merged.availability, apart.availability, atol=1e-10)
    assert np.allclose(merged.rate_per_year, apart.rate_per_year, rtol=1e-10, atol=1e-10)
    assert np.allclose(merged.stream_fill, apart.stream_fill, atol=1e-10)
    assert np.allclose(merged.class_on_time, apart.class_on_time, atol=1e-10, equal_nan=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_merge_streams_adds_the_rates_of_equal_restricted_lists(seed: int) -> None:
    """One merged stream per (part, primary, stocked locations of the list in order with their
    on-time probabilities), carrying the summed rate of its streams, and each stream pointing at
    its own: checked against a dictionary built stream by stream."""
    from optimizer.stocking.evaluate import compact_lists, merge_streams

    pr = random_problem(seed, n_parts=4, n_depots=3, n_sites=30)
    S = np.random.default_rng(seed).integers(0, 2, (pr.n_parts, pr.n_locations))
    loc, p, ok, _ = compact_lists(pr, S)

    def key(part, primary, loc_row, p_row, ok_row):
        return (int(part), int(primary), tuple(int(x) for x in loc_row[ok_row]),
                tuple(float(x) for x in p_row[ok_row]))

    want: dict[tuple, float] = {}
    for n in range(len(pr.stream_part)):
        k = key(pr.stream_part[n], pr.stream_primary[n], loc[n], p[n], ok[n])
        want[k] = want.get(k, 0.0) + float(pr.stream_rate_per_year[n])
    m, m_loc, m_p, m_ok, inverse = merge_streams(pr, loc, p, ok)
    got = {key(m.stream_part[i], m.stream_primary[i], m_loc[i], m_p[i], m_ok[i]):
           float(m.stream_rate_per_year[i]) for i in range(len(m.stream_part))}
    assert len(got) == len(m.stream_part)  # one stream per key
    assert got.keys() == want.keys()
    for k, r in want.items():
        assert got[k] == pytest.approx(r, rel=1e-12)
    for n in range(len(pr.stream_part)):
        i = inverse[n]
        assert key(pr.stream_part[n], pr.stream_primary[n], loc[n], p[n], ok[n]) == key(
            m.stream_part[i], m.stream_primary[i], m_loc[i], m_p[i], m_ok[i])
