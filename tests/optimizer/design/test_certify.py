"""The design certificate: tail columns dominate every vector they stand for, the box
enumeration keeps exactly the vectors within the excess limit, and the certified optimum and
bound agree with brute force and with an enumeration of the designs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.design import DesignObjective, build_design_problem, solve_design
from optimizer.design.certify import (
    box_vectors,
    certify,
    excess_units,
    support_caps,
    tail_columns,
)
from optimizer.stocking.columns import part_contributions
from optimizer.stocking.evaluate import evaluate_parts
from scenarios.generator import generate
from tests.optimizer.design.scenarios import cheapest_saving_design, stock_saving


@pytest.fixture(scope="module")
def remote():
    """A generated instance with sites beyond the depots' reach and 2 candidates."""
    return build_design_problem(generate(3, 2, 10, 4, candidates=2, site_spread_km=250.0))


def test_excess_units_is_the_floor_of_the_budget_over_the_unit_cost():
    k = excess_units(np.array([10.0, 3.0, 0.0, 25.0]), 30.0)
    assert k[0] == 3 and k[1] == 10 and k[3] == 1
    assert k[2] > 10**6  # a part that costs nothing has no limit


def test_box_vectors_are_every_vector_of_the_box_within_the_excess_limit():
    upper = np.array([[2, 3, 0], [1, 1, 1]])
    k = np.array([2, 0])
    owner, vecs = box_vectors(upper, k)
    for p in range(2):
        brute = {v for v in itertools.product(*[range(u + 1) for u in upper[p]])
                 if sum(max(x - 1, 0) for x in v) <= k[p]}
        got = {tuple(v) for v in vecs[owner == p]}
        assert got == brute and len(got) == int((owner == p).sum())


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_tail_column_is_cheaper_and_serves_more_than_every_vector_it_stands_for(remote, data):
    """A vector outside the box is represented by the tail of its support and of a location
    where it exceeds the box: the tail costs no more, serves every class at least as much and
    uses no more of any location."""
    pr = remote.stocking
    P, L = pr.n_parts, pr.n_locations
    upper = np.ones((P, L), dtype=np.int64)
    k = np.full(P, 6)
    tp, tl, to = tail_columns(pr, upper, k, np.ones((P, L), dtype=bool))
    p = data.draw(st.integers(0, P - 1))
    S = np.zeros((P, L), dtype=np.int64)
    S[p] = data.draw(st.lists(st.integers(0, 5), min_size=L, max_size=L))
    j = data.draw(st.integers(0, L - 1))
    S[p, j] = max(S[p, j], upper[p, j] + 1)
    real = part_contributions(pr, evaluate_parts(pr, S))[p]
    sigma = S[p] > 0
    over = np.nonzero(S[p] > upper[p])[0]
    mine = [i for i in np.nonzero(tp == p)[0]
            if np.array_equal(tl[i] > 0, sigma) and int(np.argmax(tl[i])) in over]
    assert mine, "no tail stands for this vector"
    for i in mine:
        assert tl[i].sum() <= S[p].sum()
        assert np.all(tl[i] <= S[p])  # no more stock anywhere (capacity rows)
        assert np.all(to[i] >= real - 1e-9)


def test_support_caps_of_every_location_is_the_part_demand_on_time_somewhere(remote):
    pr = remote.stocking
    every = (1 << pr.n_locations) - 1
    cap = support_caps(pr, 0, np.array([every, 0]))
    n = (pr.stream_part == 0) & pr.stream_in_service
    best = pr.stream_p_on_time[n].max(axis=1)
    assert cap[0].sum() == pytest.approx(float((pr.stream_rate_per_year[n] * best).sum()))
    assert np.all(cap[1] == 0)


def test_certificate_equals_brute_force_on_the_stock_saving_instance():
    dp = build_design_problem(stock_saving(n_parts=2))
    best = cheapest_saving_design(dp)
    res = solve_design(dp)
    cert = certify(dp, res.aimed_at, DesignObjective().rules(dp), upper=res.yearly_cost,
                   lower=0.0, levels=res.levels)
    assert cert is not None and cert.yearly_cost == pytest.approx(best)
    assert cert.bound == pytest.approx(best, rel=1e-6) and cert.bound <= best + 1e-6


def test_certified_bound_holds_below_plans_near_the_optimum(remote):
    """Random plans near the reported optimum, each with the cheapest design that holds it:
    none that meets the targets costs less than the certified bound."""
    dp = remote
    pr = dp.stocking
    res = solve_design(dp)
    assert res.certified and any(n.startswith("certified bound") for n in res.notes)
    costs = []
    rng = np.random.default_rng(0)
    for _ in range(300):  # plans around the optimum, each with the cheapest design it needs
        S = np.maximum(res.levels + rng.integers(-1, 3, size=res.levels.shape), 0)
        if not evaluate_parts(pr, S).meets_targets(pr, res.aimed_at):
            continue
        is_open = (S > 0).any(axis=0) | ~dp.switchable
        costs.append(dp.yearly_cost(S, is_open)[0])
    assert len(costs) > 20
    assert res.bound <= res.yearly_cost + 1e-6
    assert res.bound <= min(costs) + 1e-6
    assert res.gap <= 1e-6  # the certificate's optimum is the plan reported
