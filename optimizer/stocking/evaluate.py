"""Analytic evaluation of base-stock levels: METRIC / VARI-METRIC with time-based service.

Given ``S`` (parts x locations) the model predicts, per part and location, the pipeline, the
availability ``A = P(on hand > 0)``, expected backorders and the HQ delay, and per service class
the demand-weighted on-time share. Steps (all vectorised over parts; see docs/stocking-model.md):

1. **Flows.** Stream ``n`` is filled at its k-th preferred location with probability
   ``prod_{l<k}(1 - A_l) A_k`` (independence approximation) and on time with ``p_k``; if no
   location has stock (probability ``prod_k(1 - A_k)``) it is backordered at its primary depot.
   The demand each location fills (own and overflow) plus its children's resupply orders is its
   resupply rate ``lambda_j`` (one-for-one: every unit filled is re-ordered from the parent).
2. **HQ.** Pipeline Poisson with mean ``lambda_HQ x T_HQ`` (Palm's theorem, mean resupply time
   ``y T_rep + (1 - y) T_proc``); the expected delay per order is ``EBO_HQ / lambda_HQ``
   (Little's law).
3. **Depots** (parents before children). Pipeline = Poisson transit part
   ``lambda_j x transit_j`` plus the depot's share ``f = lambda_j / lambda_parent`` of the
   parent's backorders (binomial thinning): mean ``f EBO_par``, variance
   ``f (1 - f) EBO_par + f^2 VBO_par`` (VARI-METRIC, Graves 1985); negative binomial when the
   variance-to-mean ratio exceeds 1.
4. **Fixed point.** Availabilities change the flows of step 1; the steps repeat until the
   availabilities move less than ``tol``.

:func:`evaluate_parts` is a pure function of one set of parts' arrays (parts are independent given
S), :func:`evaluate` maps it over chunks of parts and stitches the results, so the per-part work can
run on any map engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.stocking.distributions import backorder_stats
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Predicted performance of one stock plan.

    Attributes
    ----------
    class_on_time : (C,) demand-weighted on-time share per class (NaN for a class without
        in-service demand).
    overall_on_time : demand-weighted on-time share over all in-service demand.
    stream_on_time : (N,) on-time probability per stream.
    stream_fill : (N, K) probability that stream n is filled at its k-th preferred location.
    availability : (P, L) P(on hand > 0) per part and location (the location's fill rate).
    rate_per_year : (P, L) resupply rate lambda (direct fills, backorders and children's orders).
    pipeline_mean, pipeline_var : (P, L) units in resupply.
    backorders : (P, L) expected backorders EBO; backorder_var : (P, L) their variance.
    hq_delay_days : (P,) expected delay of an HQ order caused by HQ backorders (days).
    iterations : fixed-point iterations used (max over chunks).
    """

    class_on_time: np.ndarray
    overall_on_time: float
    stream_on_time: np.ndarray
    stream_fill: np.ndarray
    availability: np.ndarray
    rate_per_year: np.ndarray
    pipeline_mean: np.ndarray
    pipeline_var: np.ndarray
    backorders: np.ndarray
    backorder_var: np.ndarray
    hq_delay_days: np.ndarray
    iterations: int

    def meets_targets(self, problem: StockingProblem, targets: np.ndarray | None = None,
                      tol: float = 1e-9) -> bool:
        """All constrained classes at or above their targets (``targets`` overrides the problem's)."""
        t = problem.class_target if targets is None else targets
        ok = ~np.isnan(t) & ~np.isnan(self.class_on_time)
        return bool(np.all(self.class_on_time[ok] >= t[ok] - tol))


def check_levels(problem: StockingProblem, S: np.ndarray) -> np.ndarray:
    """``S`` as an int64 (P, L) array; ValueError naming the problem otherwise."""
    S = np.asarray(S)
    if S.shape != (problem.n_parts, problem.n_locations):
        raise ValueError(f"stock levels have shape {S.shape}, expected "
                         f"({problem.n_parts}, {problem.n_locations})")
    if S.size and (np.any(S < 0) or np.any(np.round(S) != S)):
        raise ValueError("stock levels must be whole numbers >= 0")
    return S.astype(np.int64)


def stream_flows(A_pref: np.ndarray, p_on_time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill probabilities (N, K), miss probability (N,) and on-time share (N,) of streams.

    ``A_pref[n, k]`` is the availability of the k-th preferred location (0 for padding).
    """
    out = 1.0 - A_pref
    prefix = np.cumprod(np.concatenate([np.ones((len(A_pref), 1)), out[:, :-1]], axis=1), axis=1)
    fill = prefix * A_pref
    miss = prefix[:, -1] * out[:, -1]
    return fill, miss, (fill * p_on_time).sum(axis=1)


def pipelines(problem: StockingProblem, S: np.ndarray, lam: np.ndarray, order: np.ndarray
              ) -> tuple[np.ndarray, ...]:
    """Top-down pipelines given resupply rates ``lam`` (P, L) per year.

    Returns ``(mean, var, availability, ebo, vbo, pmf_at_S)``, each (P, L).
    """
    P, L = S.shape
    mean = np.zeros((P, L))
    var = np.zeros((P, L))
    A = np.zeros((P, L))
    ebo = np.zeros((P, L))
    vbo = np.zeros((P, L))
    pmf = np.zeros((P, L))
    hq_years = problem.hq_resupply_days / DAYS_PER_YEAR
    for j in order:
        q = problem.parent[j]
        if q < 0:
            mean[:, j] = lam[:, j] * hq_years
            var[:, j] = mean[:, j]
        else:
            transit = lam[:, j] * problem.transit_days[j] / DAYS_PER_YEAR
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(lam[:, q] > 0, lam[:, j] / lam[:, q], 0.0)
            f = np.clip(f, 0.0, 1.0)
            mean[:, j] = transit + f * ebo[:, q]
            var[:, j] = transit + f * (1 - f) * ebo[:, q] + f * f * vbo[:, q]
        A[:, j], ebo[:, j], vbo[:, j], pmf[:, j] = backorder_stats(mean[:, j], var[:, j], S[:, j])
    return mean, var, A, ebo, vbo, pmf


def location_rates(problem: StockingProblem, direct: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Resupply rate per (part, location): direct demand plus all descendants' orders."""
    lam = direct.copy()
    for j in order[::-1]:
        q = problem.parent[j]
        if q >= 0:
            lam[:, q] += lam[:, j]
    return lam


def direct_demand(problem: StockingProblem, fill: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """(P, L) demand per year filled (or backordered) at each location by the streams."""
    P, L = problem.n_parts, problem.n_locations
    rate = problem.stream_rate_per_year
    pref = problem.stream_pref
    valid = pref >= 0
    flat = (problem.stream_part[:, None] * L + np.where(valid, pref, 0))[valid]
    w = (rate[:, None] * fill)[valid]
    out = np.bincount(flat, weights=w, minlength=P * L)
    out += np.bincount(problem.stream_part * L + problem.stream_primary, weights=rate * miss,
                       minlength=P * L)
    return out.reshape(P, L)


def class_shares(problem: StockingProblem, stream_on_time: np.ndarray) -> tuple[np.ndarray, float]:
    """Demand-weighted on-time share per class and overall (in-service demand only)."""
    w = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    C = problem.n_classes
    num = np.bincount(problem.stream_class, weights=w * stream_on_time, minlength=C)
    den = np.bincount(problem.stream_class, weights=w, minlength=C)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    total = den.sum()
    return shares, float(num.sum() / total) if total > 0 else float("nan")


def evaluate_parts(problem: StockingProblem, S: np.ndarray, *, tol: float = 1e-10,
                   max_iter: int = 200, initial_availability: np.ndarray | None = None) -> Evaluation:
    """Evaluate every part of ``problem`` at once (vectorised); see the module docstring."""
    S = check_levels(problem, S)
    order = problem.depth_order
    pref = problem.stream_pref
    valid = pref >= 0
    rows = problem.stream_part[:, None]
    cols = np.where(valid, pref, 0)
    A = (S > 0).astype(float) if initial_availability is None else initial_availability.copy()
    damping = 1.0
    it = 0
    prev_delta = np.inf
    while True:
        it += 1
        A_pref = np.where(valid, A[rows, cols], 0.0)
        fill, miss, on_time = stream_flows(A_pref, problem.stream_p_on_time)
        lam = location_rates(problem, direct_demand(problem, fill, miss), order)
        mean, var, A_new, ebo, vbo, _ = pipelines(problem, S, lam, order)
        delta = float(np.max(np.abs(A_new - A))) if A.size else 0.0
        if delta >= prev_delta * 0.999 and it > 10:
            damping = max(0.25, damping * 0.7)  # oscillating: damp the update
        prev_delta = delta
        A = A + damping * (A_new - A) if damping < 1 else A_new
        if delta < tol or it >= max_iter:
            break
    A_pref = np.where(valid, A[rows, cols], 0.0)
    fill, miss, on_time = stream_flows(A_pref, problem.stream_p_on_time)
    shares, overall = class_shares(problem, on_time)
    lam0 = lam[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = np.where(lam0 > 0, ebo[:, 0] / np.where(lam0 > 0, lam0, 1) * DAYS_PER_YEAR, 0.0)
    return Evaluation(shares, overall, on_time, fill, A, lam, mean, var, ebo, vbo, delay, it)


def subproblem(problem: StockingProblem, parts: np.ndarray) -> StockingProblem:
    """The problem restricted to the part indices ``parts`` (streams re-indexed)."""
    parts = np.asarray(parts, dtype=np.int64)
    remap = np.full(problem.n_parts, -1, dtype=np.int64)
    remap[parts] = np.arange(len(parts))
    keep = remap[problem.stream_part] >= 0
    return StockingProblem(
        name=problem.name, currency=problem.currency, part_ids=problem.part_ids[parts],
        location_ids=problem.location_ids, parent=problem.parent, transit_days=problem.transit_days,
        unit_cost=problem.unit_cost[parts], repairable=problem.repairable[parts],
        repair_turnaround_days=problem.repair_turnaround_days[parts],
        repair_yield=problem.repair_yield[parts],
        procurement_lead_time_days=problem.procurement_lead_time_days[parts],
        class_tier=problem.class_tier, class_severity=problem.class_severity,
        class_target=problem.class_target, stream_part=remap[problem.stream_part[keep]],
        stream_class=problem.stream_class[keep],
        stream_rate_per_year=problem.stream_rate_per_year[keep],
        stream_primary=problem.stream_primary[keep], stream_pref=problem.stream_pref[keep],
        stream_p_on_time=problem.stream_p_on_time[keep],
        stream_in_service=problem.stream_in_service[keep])


def evaluate(problem: StockingProblem, S: np.ndarray, *, chunk_parts: int | None = None,
             tol: float = 1e-10) -> Evaluation:
    """Evaluate base-stock levels ``S`` (parts x locations) with the two-echelon model.

    ``chunk_parts`` maps :func:`evaluate_parts` over chunks of that many parts (same result;
    bounds memory and shows the per-part structure); None evaluates all parts in one call.
    """
    S = check_levels(problem, S)
    if chunk_parts is None or chunk_parts >= problem.n_parts:
        return evaluate_parts(problem, S, tol=tol)
    P, L, N = problem.n_parts, problem.n_locations, len(problem.stream_part)
    K = problem.stream_pref.shape[1]
    shape_pl = (P, L)
    fields = {k: np.zeros(shape_pl) for k in ("availability", "rate_per_year", "pipeline_mean",
                                               "pipeline_var", "backorders", "backorder_var")}
    on_time = np.zeros(N)
    fill = np.zeros((N, K))
    delay = np.zeros(P)
    iters = 0
    for start in range(0, P, chunk_parts):
        idx = np.arange(start, min(P, start + chunk_parts))
        streams = np.nonzero((problem.stream_part >= idx[0]) & (problem.stream_part <= idx[-1]))[0]
        ev = evaluate_parts(subproblem(problem, idx), S[idx], tol=tol)
        for k, arr in fields.items():
            arr[idx] = getattr(ev, k)
        on_time[streams] = ev.stream_on_time
        fill[streams] = ev.stream_fill
        delay[idx] = ev.hq_delay_days
        iters = max(iters, ev.iterations)
    shares, overall = class_shares(problem, on_time)
    return Evaluation(shares, overall, on_time, fill, fields["availability"],
                      fields["rate_per_year"], fields["pipeline_mean"], fields["pipeline_var"],
                      fields["backorders"], fields["backorder_var"], delay, iters)
