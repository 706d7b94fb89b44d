"""A certified lower bound (and optimum) for small designs, over every design and stock level.

**Columns that stand for whole families of plans.** Parts are independent given their own
levels, so a plan is one stock vector per part (:mod:`optimizer.design.master`). For part ``p``
every vector in a box ``0 <= S_j <= u_pj`` is evaluated exactly. A vector outside the box has
some location ``j`` with ``S_j >= u_pj + 1`` and a support ``sigma`` (the locations it stocks);
it costs at least ``c_p (|sigma| + u_pj)`` and, since a request is on time only when filled at a
stocked location (fill probabilities sum to at most 1), its on-time demand in class ``c`` is at
most ``sum_n r_n max_{k: loc_nk in sigma} p_nk`` over the part's streams ``n`` of that class.
One "tail" column per ``(sigma, j)`` with that cost, that on-time demand and one unit at each
location of ``sigma`` (``u_pj + 1`` at ``j``) for the location and capacity rows is then at
least as good as every real vector it stands for, so the master MIP over exact and tail
columns is a relaxation of the design problem and its proven dual bound a lower bound over
every design and stock level. Where the MIP's answer uses a tail column the box grows there and
the MIP is solved again; once it uses none, its answer is a real plan (the optimum, when it
meets the targets).

**Plans that cannot beat a known one.** With the coverage bound ``B``
(:func:`optimizer.design.bound.coverage_bound`) and a known design of yearly cost ``U`` meeting
the targets, any design costs at least ``B + h sum_pj c_p (S_pj - 1)^+`` (``t = [S >= 1]`` is
feasible in the covering model), so one cheaper than ``U`` has ``sum_j (S_pj - 1)^+ <= (U - B) /
(h c_p)`` for every part: vectors (and tails) beyond that are left out and the bound is capped
at ``U``. The class rows ask for the targets less HiGHS's row tolerance, so the bound errs low.
Small instances only: a part's box holds ``prod_j (u_pj + 1)`` vectors and it has ``|sigma| 2^(L-1)``
tails.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from optimizer.design.master import DesignMasterResult, DesignRules, solve_design_master
from optimizer.design.problem import DesignProblem
from optimizer.stocking.columns import ColumnPool, evaluate_columns
from optimizer.stocking.evaluate import Evaluation, evaluate_parts
from optimizer.stocking.problem import StockingProblem

CERTIFY_VECTORS = 300_000
"""Most exact stock vectors a certificate evaluates (the MIP stays within seconds)."""
CERTIFY_GAP = 1e-7
"""Relative MIP gap the certifying MIPs are solved to."""
CERTIFY_ROUNDS = 12
"""Most times the box grows where the MIP leans on a tail column."""
CERTIFY_LOCATIONS = 12
"""Largest number of locations a part may be stocked at for a certificate (2^L supports)."""


@dataclass(frozen=True, eq=False)
class Certificate:
    """``bound``: lower bound on the yearly cost over every design and stock level meeting the
    targets (currency per year); ``excess``: the stock value a plan cheaper than the known one
    can hold beyond one unit per stocked (part, location) (currency); ``vectors``: exact stock
    vectors evaluated; ``rounds``: MIPs solved; ``levels`` (P, L) / ``open`` (L,) /
    ``evaluation`` / ``yearly_cost``: the optimal design when the last MIP's answer is a real
    plan that meets the targets (else None); ``status``: the last MIP's; ``seconds``."""

    bound: float
    excess: float
    vectors: int
    rounds: int
    levels: np.ndarray | None
    open: np.ndarray | None
    evaluation: Evaluation | None
    yearly_cost: float | None
    status: str
    seconds: float


def excess_units(unit_cost: np.ndarray, excess: float) -> np.ndarray:
    """(P,) most units beyond the first per stocked location that ``excess`` currency buys of
    each part (``floor(E / c_p)``; a large number for a part that costs nothing)."""
    c = np.asarray(unit_cost, dtype=float)
    big = np.iinfo(np.int32).max
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.floor(max(excess, 0.0) / c * (1 + 1e-12) + 1e-9)
    return np.where(c > 0, np.minimum(k, big), big).astype(np.int64)


def box_size(upper: np.ndarray) -> int:
    """Vectors in the boxes ``0 <= S[p] <= upper[p]`` of every part."""
    return int(np.prod(np.asarray(upper, dtype=np.int64) + 1, axis=1).sum())


def box_vectors(upper: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, vectors)``: every vector of part ``p`` in its box ``0 <= S <= upper[p]`` with
    ``sum_j (S_j - 1)^+ <= k[p]``, parts in order."""
    P, L = upper.shape
    owners, blocks = [], []
    for p in range(P):
        grid = np.indices(tuple(int(u) + 1 for u in upper[p])).reshape(L, -1).T
        grid = grid[np.maximum(grid - 1, 0).sum(axis=1) <= k[p]]
        blocks.append(grid.astype(np.int64))
        owners.append(np.full(len(grid), p, dtype=np.int64))
    return np.concatenate(owners), np.concatenate(blocks)


def support_caps(pr: StockingProblem, p: int, supports: np.ndarray) -> np.ndarray:
    """(len(supports), C) the most on-time demand per class part ``p`` can have with stock at
    exactly the locations of each bitmask in ``supports``: per stream, its rate times the best
    on-time probability among its stocked preferred locations."""
    n = np.nonzero((pr.stream_part == p) & pr.stream_in_service)[0]
    pref = pr.stream_pref[n]
    bit = np.where(pref >= 0, np.left_shift(1, np.maximum(pref, 0)), 0)
    out = np.zeros((len(supports), pr.n_classes))
    for i, sigma in enumerate(supports):
        best = np.where((bit & int(sigma)) != 0, pr.stream_p_on_time[n], 0.0).max(axis=1,
                                                                                  initial=0.0)
        out[i] = np.bincount(pr.stream_class[n], weights=pr.stream_rate_per_year[n] * best,
                             minlength=pr.n_classes)
    return out


def tail_columns(pr: StockingProblem, upper: np.ndarray, k: np.ndarray, allowed: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(owner, levels, ontime)`` of the tail columns (module docstring): per part, support
    ``sigma`` and location ``j`` in it with ``upper[p, j] <= k[p]`` (a tail beyond the
    excess limit cannot beat the known plan), one unit on ``sigma`` and ``upper + 1`` at ``j``."""
    L = pr.n_locations
    owners, levels, ontime = [], [], []
    for p in range(pr.n_parts):
        locs = np.nonzero(allowed[p])[0]
        rows, masks = [], []
        for r in range(1, len(locs) + 1):
            for sub in itertools.combinations(locs, r):
                for j in sub:
                    if upper[p, j] > k[p]:
                        continue
                    v = np.zeros(L, dtype=np.int64)
                    v[list(sub)] = 1
                    v[j] = upper[p, j] + 1
                    rows.append(v)
                    masks.append(sum(1 << int(x) for x in sub))
        if not rows:
            continue
        uniq, inv = np.unique(np.array(masks, dtype=np.int64), return_inverse=True)
        caps = support_caps(pr, p, uniq)
        owners.append(np.full(len(rows), p, dtype=np.int64))
        levels.append(np.array(rows))
        ontime.append(caps[inv.ravel()])
    if not owners:
        return (np.zeros(0, dtype=np.int64), np.zeros((0, L), dtype=np.int64),
                np.zeros((0, pr.n_classes)))
    return np.concatenate(owners), np.concatenate(levels), np.concatenate(ontime)


def certify(dp: DesignProblem, aimed: np.ndarray, rules: DesignRules, *, upper: float,
            lower: float, levels: np.ndarray | None = None, max_vectors: int = CERTIFY_VECTORS,
            rounds: int = CERTIFY_ROUNDS, time_limit_s: float = 120.0) -> Certificate | None:
    """The certificate of the module docstring for targets ``aimed`` that a known design of
    yearly cost ``upper`` meets (``levels`` (P, L): its stock, the first box is one unit above
    it); ``lower``: a valid lower bound (the coverage bound). None when the instance is too
    large (a part with more than :data:`CERTIFY_LOCATIONS` locations, or a first box over
    ``max_vectors``) or ``upper`` is not finite. Targets mode only (no budget)."""
    t0 = time.perf_counter()
    pr = dp.stocking
    h = dp.carrying_rate
    P, L = pr.n_parts, pr.n_locations
    if not (np.isfinite(upper) and h > 0) or L > CERTIFY_LOCATIONS:
        return None
    excess = max(upper - lower, 0.0) / h
    k = excess_units(pr.unit_cost, excess)
    allowed = np.ones((P, L), dtype=bool)
    allowed[:, list(rules.force_closed)] = False
    base = np.ones((P, L), dtype=np.int64) if levels is None else np.asarray(levels) + 1
    box = np.where(allowed, np.minimum(np.maximum(base, 1), k[:, None] + 1), 0)
    if box_size(box) > max_vectors:
        return None
    seen = ColumnPool(L, pr.n_classes)  # every exact vector evaluated so far
    bound, best, status, solved = lower, None, "not solved", 0
    for _ in range(rounds):
        solved += 1
        parts, vecs = box_vectors(box, k)
        new = seen.index(parts, vecs) < 0
        evaluate_columns(pr, parts[new], vecs[new], seen)
        ex = seen.index(parts, vecs)
        sp, sl, _, so = seen.arrays()
        tp, tl, to = tail_columns(pr, box, k, allowed)
        pool = ColumnPool(L, pr.n_classes)
        pool.add(sp[ex], sl[ex], pr.unit_cost[sp[ex]], so[ex])
        n_exact = len(pool)
        pool.add(tp, tl, pr.unit_cost[tp], to)
        m = solve_design_master(pool, dp, aimed, rules, time_limit_s=time_limit_s,
                                mip_gap=CERTIFY_GAP, relaxed=True)
        status = m.status
        if np.isfinite(m.bound):
            bound = max(bound, min(float(m.bound), upper))
        elif m.status == "Infeasible":  # nothing in the relaxation beats the known plan
            bound = upper
        if m.choice is None or np.any(m.choice < 0):
            break
        tails = m.choice[m.choice >= n_exact]
        if tails.size == 0:
            best = _plan_of(dp, pool, m, aimed)
            if best is not None:
                break
            # on the relaxed rows' edge: the same pool with the planning margin
            m = solve_design_master(pool, dp, aimed, rules, time_limit_s=time_limit_s,
                                    mip_gap=CERTIFY_GAP)
            if m.choice is None or np.any(m.choice < 0):
                break
            tails = m.choice[m.choice >= n_exact]
            if tails.size == 0:
                best = _plan_of(dp, pool, m, aimed)
                break
        grow = box.copy()
        cp, cl = pool.arrays()[:2]
        for col in tails:  # the tail's location j is where it holds more than one unit
            p = int(cp[col])
            j = int(np.argmax(cl[col]))
            grow[p, j] = min(max(2 * grow[p, j], grow[p, j] + 1), k[p] + 1)
        if np.array_equal(grow, box) or box_size(grow) > max_vectors:
            break
        box = grow
    lv, op, ev, cost = best if best is not None else (None, None, None, None)
    return Certificate(bound, excess, len(seen), solved, lv, op, ev, cost, status,
                       time.perf_counter() - t0)


def _plan_of(dp: DesignProblem, pool: ColumnPool, m: DesignMasterResult, aimed: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, Evaluation, float] | None:
    """The MIP's answer (exact columns only) as a plan, when it meets the targets."""
    pr = dp.stocking
    S = pool.arrays()[1][m.choice]
    op = (m.open > 0.5) | ~dp.switchable
    ev = evaluate_parts(pr, S)
    return (S, op, ev, dp.yearly_cost(S, op)[0]) if ev.meets_targets(pr, aimed) else None
