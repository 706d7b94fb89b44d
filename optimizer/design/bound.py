"""A lower bound on the yearly cost of every design and every stock level (coverage relaxation).

Under the dispatch rule a request is on time only if some location on time at its moment holds
stock, so for any design and base-stock levels S a stream's on-time share is at most 1 when one
of its on-time locations has ``S >= 1`` and 0 otherwise, and such a location costs at least one
unit. With ``t_pj`` = "part p holds stock at j" that gives the relaxation

    min  h sum_pj c_p t_pj + sum_j f_j y_j
    s.t. w_g <= r_g,  w_g <= r_g sum_{j in O_g} t_pj        every group g (part, class, on-time set)
         sum_{g in c} w_g >= target_c D_c                    every constrained class c
         t_pj <= y_j (switchable j),  sum_p t_pj <= cap_j y_j,  sum_p c_p t_pj <= value cap_j y_j
         planner rules on y (forced open / closed, at most ``max_new`` candidates)
         0 <= t, y <= 1 (LP) or binary (MIP: its proven dual bound)

which every feasible (design, S) satisfies with ``t = [S >= 1]``: its optimum (or any proven
lower bound of it) is a lower bound for the design problem, over all stock levels, not only the
generated columns. Class rows may be left out (fewer constraints, a weaker but still valid bound):
on large instances only the most binding classes are kept (:func:`binding_classes`).

**System stock.** Every unit used anywhere is resupplied through the HQ (repair or purchase,
mean ``T_p`` years), so by Palm's theorem the units of part ``p`` in that resupply are Poisson
with mean ``m_p = Lambda_p T_p`` (``Lambda_p``: all its demand per year), whatever the stock
levels; with ``n_p = sum_j S_pj`` units in the system none is on a shelf anywhere while that
number is ``n_p`` or more, and a request (Poisson arrivals see time averages) is filled from
stock at most with probability ``F(n_p - 1; m_p)``, the Poisson distribution function. With
``z_pk`` = "p has at least k units" the model gains

    w_g <= r_g sum_k pmf(k - 1; m_p) z_pk                     every group g of part p
    sum_k z_pk + e_p >= sum_j t_pj,  z_pk <= z_p(k-1)          every part p

and the stock cost ``h c_p (sum_k z_pk + e_p)`` replaces ``h c_p sum_j t_pj``: a part needs
enough units system-wide to cover its resupply pipeline, not only one unit where it is stocked.
That holds for the real network (Poisson failures, one-for-one resupply), not for the stocking
model: its METRIC-type pipelines replace the HQ's random backorders by their moments and can
find a plan one unit below Palm's figure where the HQ pipeline is long (tested), so with
``system=True`` the result bounds what the network needs, not the model's optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse
from scipy.stats import poisson

from optimizer.design.master import DesignRules
from optimizer.design.problem import DesignProblem
from optimizer.stocking.master import run_sparse
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem


@dataclass(frozen=True)
class BoundResult:
    """``value``: proven lower bound (currency per year); ``status``; ``groups``, ``pairs``: model
    size; ``integer``: whether the MIP (True) or its LP relaxation gave it; ``classes``: how many
    class rows the model kept."""

    value: float
    status: str
    groups: int
    pairs: int
    integer: bool
    classes: int = 0


MAX_GROUPS = 30_000
"""Largest covering model solved: classes are kept, most binding first, while their groups fit.
Leaving a class's row out relaxes the model further, so the bound stays valid."""


def binding_classes(dp: DesignProblem, targets: np.ndarray, max_groups: int = MAX_GROUPS
                    ) -> np.ndarray:
    """(C,) bool: the constrained classes kept in the covering model, those whose target is
    closest to (or above) the existing network's ceiling first, while their streams fit."""
    pr = dp.stocking
    D = pr.class_demand_per_year
    cons = ~np.isnan(targets) & (D > 0)
    on = (pr.stream_pref >= 0) & (pr.stream_p_on_time > 0)
    existing = ~dp.is_candidate
    hit = (on & existing[np.where(on, pr.stream_pref, 0)]).any(axis=1)
    w = np.where(pr.stream_in_service, pr.stream_rate_per_year, 0.0)
    ceil = np.bincount(pr.stream_class, weights=w * hit, minlength=pr.n_classes) / np.where(
        D > 0, D, 1.0)
    size = np.bincount(pr.stream_class, weights=pr.stream_in_service, minlength=pr.n_classes)
    keep = np.zeros(pr.n_classes, dtype=bool)
    total = 0.0
    for c in sorted(np.nonzero(cons)[0], key=lambda c: ceil[c] - targets[c]):
        if total + size[c] > max_groups and keep.any():
            continue
        keep[c] = True
        total += size[c]
    return keep


FILL_TAIL = 1e-9
"""A part's unit steps stop where the Poisson tail beyond them is below this (no more fill)."""


@dataclass(frozen=True)
class SystemUnits:
    """Unit steps of the system-stock rows: step ``i`` is unit ``z_k[i]`` of part ``z_part[i]``
    and raises the share of requests that can find a unit on a shelf by ``z_gain[i]``
    (``pmf(k - 1; m_p)``); ``parts`` (Q,) sorted."""

    parts: np.ndarray
    z_part: np.ndarray
    z_k: np.ndarray
    z_gain: np.ndarray


def system_units(pr: StockingProblem, parts: np.ndarray) -> SystemUnits:
    """The unit steps of ``parts``: HQ resupply pipeline mean ``m_p`` = all demand of the part
    per year x its mean HQ resupply time in years; steps up to the ``1 - FILL_TAIL`` quantile."""
    parts = np.unique(np.asarray(parts, dtype=np.int64))
    demand = np.bincount(pr.stream_part, weights=pr.stream_rate_per_year, minlength=pr.n_parts)
    mean = demand[parts] * pr.hq_resupply_days[parts] / DAYS_PER_YEAR
    steps = np.maximum(poisson.ppf(1.0 - FILL_TAIL, mean).astype(np.int64) + 1, 1)
    z_part = np.repeat(parts, steps)
    z_k = np.concatenate([np.arange(1, k + 1) for k in steps]) if len(steps) else np.zeros(0, int)
    z_gain = poisson.pmf(z_k - 1, np.repeat(mean, steps))
    return SystemUnits(parts, z_part, z_k, z_gain)


def _system_rows(units: SystemUnits, g_part: np.ndarray, rate: np.ndarray, t_part: np.ndarray,
                 at: tuple[int, int, int], r: int, out: tuple[list, ...]) -> int:
    """Append the system-stock rows (module docstring) to ``out`` = (rows, cols, vals, lo, hi),
    from row ``r``; ``at`` = first column of w, z and e. Returns the next free row."""
    rows, cols, vals, lo, hi = out
    nw, nz, ne = at
    G, Z, Q, T = len(g_part), len(units.z_part), len(units.parts), len(t_part)
    inf = highspy.kHighsInf
    # w_g - r_g sum_k pmf(k - 1) z_pk <= 0: filled only while a unit is on a shelf somewhere
    q_of = np.searchsorted(units.parts, g_part)
    zk = [np.nonzero(units.z_part == p)[0] for p in units.parts]
    g_rep = np.repeat(np.arange(G), [len(zk[q]) for q in q_of])
    z_idx = np.concatenate([zk[q] for q in q_of] + [np.zeros(0, dtype=np.int64)])
    rows += [g_rep + r, np.arange(G) + r]
    cols += [nz + z_idx, nw + np.arange(G)]
    vals += [-rate[g_rep] * units.z_gain[z_idx], np.ones(G)]
    lo.append(np.full(G, -inf))
    hi.append(np.zeros(G))
    r += G
    # sum_k z_pk + e_p - sum_j t_pj >= 0: a unit wherever the part is stocked
    q_t = np.searchsorted(units.parts, t_part)
    rows += [np.searchsorted(units.parts, units.z_part) + r, np.arange(Q) + r, q_t + r]
    cols += [nz + np.arange(Z), ne + np.arange(Q), np.arange(T)]
    vals += [np.ones(Z), np.ones(Q), -np.ones(T)]
    lo.append(np.zeros(Q))
    hi.append(np.full(Q, inf))
    r += Q
    # z_pk <= z_p(k-1)
    nxt = np.nonzero(units.z_k > 1)[0]
    rows += [np.arange(len(nxt)) + r, np.arange(len(nxt)) + r]
    cols += [nz + nxt, nz + nxt - 1]
    vals += [np.ones(len(nxt)), -np.ones(len(nxt))]
    lo.append(np.full(len(nxt), -inf))
    hi.append(np.zeros(len(nxt)))
    r += len(nxt)
    return r


MIP_GROUPS = 5_000
"""Up to this many groups the covering model is solved as a MIP (its proven dual bound), above it
as an LP (seconds on cn-telecom, where the MIP's dual bound barely moves in a minute)."""


def coverage_bound(dp: DesignProblem, targets: np.ndarray, rules: DesignRules = DesignRules(), *,
                   integer: bool | None = None, time_limit_s: float = 60.0,
                   max_groups: int = MAX_GROUPS, system: bool = False) -> BoundResult:
    """The coverage relaxation's proven lower bound (see the module docstring), over the classes
    of :func:`binding_classes`; ``integer`` None: MIP up to :data:`MIP_GROUPS` groups, else LP.
    ``system``: add the system-stock rows (a bound for the real network, not the model)."""
    pr = dp.stocking
    L = pr.n_locations
    D = pr.class_demand_per_year
    cons = binding_classes(dp, targets, max_groups)
    keep = pr.stream_in_service & cons[pr.stream_class] & (pr.stream_p_on_time[:, 0] > 0)
    idx = np.nonzero(keep)[0]
    on = (pr.stream_p_on_time[idx] > 0) & (pr.stream_pref[idx] >= 0)
    # group streams by (part, class, on-time set)
    sets = np.where(on, pr.stream_pref[idx], -1)
    sets.sort(axis=1)
    key = np.concatenate([pr.stream_part[idx, None], pr.stream_class[idx, None], sets], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    G = len(uniq)
    if integer is None:
        integer = G <= MIP_GROUPS
    rate = np.bincount(inv, weights=pr.stream_rate_per_year[idx], minlength=G)
    g_part, g_class, g_set = uniq[:, 0], uniq[:, 1], uniq[:, 2:]
    gi, kk = np.nonzero(g_set >= 0)
    pair_key = g_part[gi] * L + g_set[gi, kk]
    pairs, pair_of = np.unique(pair_key, return_inverse=True)
    T = len(pairs)
    t_part, t_loc = pairs // L, pairs % L
    sw = np.nonzero(dp.switchable)[0]
    ny = len(sw)
    ypos = np.full(L, -1)
    ypos[sw] = np.arange(ny)
    # columns: t (T), y (ny), w (G), then per part of a group its units: z (Z) and e (Q)
    units = system_units(pr, np.unique(g_part) if system else np.zeros(0, dtype=np.int64))
    Z, Q = len(units.z_part), len(units.parts)
    nt, nw, nz = T, T + ny, T + ny + G
    ne = nz + Z
    n = ne + Q
    unit_cost = dp.carrying_rate * pr.unit_cost
    cost = np.concatenate([np.zeros(T) if system else unit_cost[t_part], dp.fixed_cost[sw],
                           np.zeros(G), unit_cost[units.z_part], unit_cost[units.parts]])
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    inf = highspy.kHighsInf
    # w_g - r_g sum t <= 0
    rows += [gi + r, np.arange(G) + r]
    cols += [pair_of.ravel(), nw + np.arange(G)]
    vals += [-rate[gi], np.ones(G)]
    lo.append(np.full(G, -inf))
    hi.append(np.zeros(G))
    r += G
    if system:
        r = _system_rows(units, g_part, rate, t_part, (nw, nz, ne), r, (rows, cols, vals, lo, hi))
    ci = np.nonzero(cons)[0]
    for c in ci:  # sum w >= target D
        g = np.nonzero(g_class == c)[0]
        rows.append(np.full(len(g), r))
        cols.append(nw + g)
        vals.append(np.ones(len(g)))
        lo.append(np.array([targets[c] * D[c]]))
        hi.append(np.array([inf]))
        r += 1
    link = np.nonzero(ypos[t_loc] >= 0)[0]  # t - y <= 0
    if link.size:
        k = len(link)
        rows += [np.arange(k) + r, np.arange(k) + r]
        cols += [link, nt + ypos[t_loc[link]]]
        vals += [np.ones(k), -np.ones(k)]
        lo.append(np.full(k, -inf))
        hi.append(np.zeros(k))
        r += k
    for caps, per in ((dp.cap_units, np.ones(T)), (dp.cap_value, pr.unit_cost[t_part])):
        for j in np.nonzero(np.isfinite(caps))[0]:
            m = np.nonzero(t_loc == j)[0]
            if not m.size:
                continue
            cc, vv, up = [m], [per[m]], 0.0
            if ypos[j] >= 0:
                cc.append([nt + ypos[j]])
                vv.append([-caps[j]])
            else:
                up = float(caps[j])
            cc_a = np.concatenate(cc)
            rows.append(np.full(len(cc_a), r))
            cols.append(cc_a)
            vals.append(np.concatenate(vv))
            lo.append(np.array([-inf]))
            hi.append(np.array([up]))
            r += 1
    cand = [nt + ypos[j] for j in sw if dp.is_candidate[j]]
    if rules.max_new is not None and cand:
        rows.append(np.full(len(cand), r))
        cols.append(np.array(cand))
        vals.append(np.ones(len(cand)))
        lo.append(np.array([-inf]))
        hi.append(np.array([float(rules.max_new)]))
        r += 1
    col_lo = np.zeros(n)
    col_hi = np.concatenate([np.ones(T + ny), rate, np.ones(Z), np.full(Q, inf)])
    for j in rules.force_open:
        if ypos[j] >= 0:
            col_lo[nt + ypos[j]] = 1.0
    for j in rules.force_closed:
        if ypos[j] >= 0:
            col_hi[nt + ypos[j]] = 0.0
    A = sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(r, n))
    h = run_sparse(cost, col_lo, col_hi, A, np.concatenate(lo), np.concatenate(hi),
                   integer_cols=np.r_[np.arange(T + ny), nz + np.arange(Z)] if integer else None,
                   time_limit_s=time_limit_s, mip_gap=1e-6)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if integer:
        value = float(info.mip_dual_bound)
    elif h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
        value = float(info.objective_function_value)
    else:
        value = 0.0
    if not np.isfinite(value):  # infeasible relaxation: no design meets the targets
        value = np.inf if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible else 0.0
    return BoundResult(max(value, 0.0), status, G, T, integer, int(cons.sum()))
