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
   availabilities move less than ``tol``. Locations without stock of a part (availability 0)
   are dropped from that part's lists first (exact), so the work per iteration scales with the
   number of stocked locations, not the list length; streams whose lists then agree (same part,
   primary depot, locations and on-time probabilities) fill alike and are merged for the fixed
   point and the final pass (:func:`merge_streams`).

:func:`evaluate_parts` is a pure function of one set of parts' arrays (parts are independent given
S), :func:`evaluate` maps it over chunks of parts and stitches the results, so the per-part work can
run on any map engine.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from optimizer.stocking.distributions import backorder_stats
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem, equal_rows


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Predicted performance of one stock plan.

    Attributes
    ----------
    class_on_time : (C,) demand-weighted on-time share per class (NaN for a class without
        in-service demand).
    overall_on_time : demand-weighted on-time share over all in-service demand.
    stream_on_time : (N,) on-time probability per stream.
    stream_fill : (N, K) probability that stream n is filled at its k-th preferred location
        ((N, 0) when evaluated with ``with_fill=False``).
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


def exclusive_cumprod(x: np.ndarray) -> np.ndarray:
    """(N, K) products of the entries left of each column: ``out[:, k] = prod_{l<k} x[:, l]``.

    A loop over the (few) columns of a column-major array: many times faster than
    ``np.cumprod(..., axis=1)`` on tall, narrow arrays.
    """
    N, K = x.shape
    out = np.empty((N, K), order="F")
    if K:
        out[:, 0] = 1.0
    for k in range(1, K):
        np.multiply(out[:, k - 1], x[:, k - 1], out=out[:, k])
    return out


def stream_flows(A_pref: np.ndarray, p_on_time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill probabilities (N, K), miss probability (N,) and on-time share (N,) of streams.

    ``A_pref[n, k]`` is the availability of the k-th preferred location (0 for padding).
    """
    out = 1.0 - A_pref
    prefix = exclusive_cumprod(out)
    fill = prefix * A_pref
    miss = prefix[:, -1] * out[:, -1]
    return fill, miss, (fill * p_on_time).sum(axis=1)


def depth_levels(parent: np.ndarray, order: np.ndarray) -> list[np.ndarray]:
    """Locations grouped by depth in the tree (roots first), each group in ``order``."""
    depth = np.zeros(len(parent), dtype=np.int64)
    for j in order:  # parents come first in ``order``
        if parent[j] >= 0:
            depth[j] = depth[parent[j]] + 1
    d = depth[order]
    return [order[d == k] for k in range(int(d.max(initial=0)) + 1)]


def pipelines(problem: StockingProblem, S: np.ndarray, lam: np.ndarray, order: np.ndarray
              ) -> tuple[np.ndarray, ...]:
    """Top-down pipelines given resupply rates ``lam`` (P, L) per year.

    One vectorised step per tree level (a location's pipeline depends on its parent's
    backorders only). Returns ``(mean, var, availability, ebo, vbo, pmf_at_S)``, each (P, L).
    """
    P, L = S.shape
    mean = np.zeros((P, L))
    var = np.zeros((P, L))
    A = np.zeros((P, L))
    ebo = np.zeros((P, L))
    vbo = np.zeros((P, L))
    pmf = np.zeros((P, L))
    for js in depth_levels(problem.parent, order):
        m, v = level_moments(problem, lam, js, ebo, vbo)
        mean[:, js], var[:, js] = m, v
        A[:, js], ebo[:, js], vbo[:, js], pmf[:, js] = backorder_stats(m, v, S[:, js])
    return mean, var, A, ebo, vbo, pmf


def level_moments(problem: StockingProblem, lam: np.ndarray, js: np.ndarray, ebo: np.ndarray,
                  vbo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pipeline mean and variance (P, len(js)) of locations ``js`` (one tree level) given the
    resupply rates ``lam`` (P, L) and their parents' backorder mean ``ebo`` and variance ``vbo``
    (P, L): the HQ's Palm pipeline, a depot's transit plus its thinned share of the parent's
    backorders (module docstring, step 3)."""
    q = problem.parent[js]
    root = q < 0
    qq = np.where(root, 0, q)
    lj, lq = lam[:, js], lam[:, qq]
    transit = lj * problem.transit_days[js] / DAYS_PER_YEAR
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.clip(np.where(lq > 0, lj / np.where(lq > 0, lq, 1.0), 0.0), 0.0, 1.0)
    eq, vq = ebo[:, qq], vbo[:, qq]
    hq_years = problem.hq_resupply_days / DAYS_PER_YEAR
    m = np.where(root, lj * hq_years[:, None], transit + f * eq)
    v = np.where(root, m, transit + f * (1 - f) * eq + f * f * vq)
    return m, v


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


KEEP_LIST_ENTRIES = 16_000_000
"""Largest problem (streams x list positions) whose list arrays :func:`list_arrays` keeps
(about 250 MB): a pricing chunk's are kept, a whole large problem's are not."""
_LAST: tuple[weakref.ref, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def list_arrays(problem: StockingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The preference lists in the transposed (K, N) layout, list position first (contiguous
    per-position steps): flat (part, location) index, padding pointing at an extra index P * L
    (availability 0, dropped at the end), and the on-time probabilities; and the in-service
    rates (N,). Kept for the last problem seen: the pricing paths ask again for the same
    problem while their set of active parts stays the same (read-only: shared by callers)."""
    global _LAST
    last = _LAST
    if last is not None and last[0]() is problem:
        return last[1]
    _LAST = None
    P, L = problem.n_parts, problem.n_locations
    pref = problem.stream_pref
    flat_t = np.ascontiguousarray(np.where(pref >= 0, problem.stream_part[:, None] * L + pref,
                                           P * L).T)
    p_t = np.ascontiguousarray(problem.stream_p_on_time.T)
    rate = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    arrays = (flat_t, p_t, rate)
    for x in arrays:
        x.flags.writeable = False
    if flat_t.size <= KEEP_LIST_ENTRIES:
        _LAST = (weakref.ref(problem, _forget), arrays)
    return arrays


def _forget(ref: weakref.ref) -> None:
    """The kept problem is gone: drop its arrays with it."""
    global _LAST
    last = _LAST
    if last is not None and last[0] is ref:
        _LAST = None


def compact_lists(problem: StockingProblem, S: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Preference lists restricted to the locations that hold stock of the stream's part.

    A location with ``S = 0`` has availability 0 (its pipeline is never below 0), so it fills
    nothing and only passes the failure on: dropping it from the list changes no figure. Returns
    ``(loc, p, valid, orig_col)``, each (N, K') with K' the longest restricted list (>= 1):
    location index (0 where not valid), on-time probability (0 where not valid), validity, and
    the column of the entry in ``problem.stream_pref``.
    """
    pref = problem.stream_pref
    N, K = pref.shape
    held = np.append((S > 0).ravel(), False)  # the extra entry: padding of the lists
    stocked = held[list_arrays(problem)[0].T]
    rows, cols = np.nonzero(stocked)  # row-major: each stream's stocked entries in list order
    counts = np.bincount(rows, minlength=N)
    width = max(1, int(counts.max(initial=0)))
    at = np.arange(len(rows)) - (np.cumsum(counts) - counts)[rows]
    loc = np.zeros((N, width), dtype=np.int64)
    p = np.zeros((N, width))
    ok = np.zeros((N, width), dtype=bool)
    orig = np.zeros((N, width), dtype=np.int64)
    loc[rows, at] = pref[rows, cols]
    p[rows, at] = problem.stream_p_on_time[rows, cols]
    ok[rows, at] = True
    orig[rows, at] = cols
    return loc, p, ok, orig


def merge_streams(problem: StockingProblem, loc: np.ndarray, p_on_time: np.ndarray,
                  ok: np.ndarray) -> tuple[StockingProblem, np.ndarray, np.ndarray, np.ndarray,
                                           np.ndarray]:
    """The streams of one part with the same primary depot and the same restricted list
    (:func:`compact_lists`' ``loc``, ``p_on_time``, ``ok``) as one stream with their rates
    added: such streams fill alike, so every location's rate and every stream's fill and on-time
    share follow from the merged ones (streams of different classes merge too: classes count
    only in :func:`class_shares`). Returns the merged problem, its ``loc``, ``p_on_time``,
    ``ok`` and ``inverse`` (N,): the merged stream of each stream."""
    code = np.where(ok, loc + 1, 0)
    first, inverse = equal_rows(
        [problem.stream_part, problem.stream_primary], [code, p_on_time.view(np.int64)])
    if len(first) == len(inverse):
        return problem, loc, p_on_time, ok, inverse
    rate = np.bincount(inverse, weights=problem.stream_rate_per_year, minlength=len(first))
    merged = select_streams(problem, np.arange(problem.n_parts), first,
                            problem.stream_part[first], rate)
    return merged, loc[first], p_on_time[first], ok[first], inverse


TAIL_EPS = 1e-13
"""Inside the fixed point, list positions reached (all earlier locations out of stock) with
probability below this for every stream are skipped; their fill counts as a miss. The error
per stream's fill and on-time share is below TAIL_EPS; the final pass uses the whole lists."""
ANDERSON_MEMORY = 5
"""Previous iterates kept by the Anderson acceleration of the fixed point."""
MIXING = 0.5
"""Share of the plain fixed-point step taken (the map oscillates: more stock on hand at a
location -> more overflow filled there -> higher rate -> less stock on hand)."""


def _anderson_step(x: np.ndarray, g: np.ndarray, dX: list[np.ndarray], dF: list[np.ndarray]
                   ) -> np.ndarray:
    """Anderson-accelerated update of ``x`` (P, L) with residual ``g = T(x) - x``, per part.

    Parts are independent, so each part gets its own least-squares mixing coefficients over the
    last ``len(dX)`` differences (Walker & Ni 2011, type II, damped by :data:`MIXING`).
    """
    if not dX:
        return x + MIXING * g
    Fm = np.stack(dF, axis=2)  # (P, L, m)
    Xm = np.stack(dX, axis=2)
    gram = np.einsum("plm,pln->pmn", Fm, Fm)
    rhs = np.einsum("plm,pl->pm", Fm, g)
    m = gram.shape[1]
    reg = 1e-12 * (np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1e-30) * np.eye(m)
    gamma = np.linalg.solve(gram + reg, rhs[:, :, None])[:, :, 0]
    return x + MIXING * g - np.einsum("plm,pm->pl", Xm + MIXING * Fm, gamma)


def evaluate_parts(problem: StockingProblem, S: np.ndarray, *, tol: float = 1e-10,
                   max_iter: int = 200, initial_availability: np.ndarray | None = None,
                   with_fill: bool = True) -> Evaluation:
    """Evaluate every part of ``problem`` at once (vectorised); see the module docstring.

    The fixed point runs on the preference lists restricted to stocked locations
    (:func:`compact_lists`, exact), damped and Anderson-accelerated per part
    (:func:`_anderson_step`), each part until its own availabilities move less than ``tol``
    (:func:`_fixed_point`). ``initial_availability``
    (P, L) warm-starts it (e.g. from the evaluation of nearby levels); ``with_fill=False``
    skips the (N, K) ``stream_fill`` output (an (N, 0) array then), which the solvers do not need.
    """
    S = check_levels(problem, S)
    order = problem.depth_order
    P, L = S.shape
    N = len(problem.stream_part)
    loc, p_on_time, ok, orig = compact_lists(problem, S)
    stocked = S > 0
    if initial_availability is None:
        A = stocked.astype(float)
    else:
        A = np.where(stocked, initial_availability, 0.0)
    merged, m_loc, m_p, m_ok, inverse = merge_streams(problem, loc, p_on_time, ok)
    A, it = _fixed_point(merged, S, A, m_loc, m_ok, order, tol, max_iter)
    # Final pass on the merged streams: rates, pipelines and availability from the converged
    # availabilities, then each stream's figures from its merged stream.
    flat = merged.stream_part[:, None] * L + m_loc  # (M, K') index into A.ravel()
    okf = m_ok.astype(float)
    rate = merged.stream_rate_per_year
    A_pref = A.ravel()[flat] * okf
    fill, miss, _ = stream_flows(A_pref, m_p)
    direct = np.bincount(flat.ravel(), weights=(rate[:, None] * fill).ravel(), minlength=P * L)
    direct += np.bincount(merged.stream_part * L + merged.stream_primary, weights=rate * miss,
                          minlength=P * L)
    lam = location_rates(problem, direct.reshape(P, L), order)
    mean, var, A, ebo, vbo, _ = pipelines(problem, S, lam, order)
    A_pref = A.ravel()[flat] * okf
    fill, miss, on_time = stream_flows(A_pref, m_p)
    on_time = on_time[inverse]
    shares, overall = class_shares(problem, on_time)
    if with_fill:
        full = np.zeros(problem.stream_pref.shape)
        rows, cols = np.nonzero(ok)
        full[rows, orig[rows, cols]] = fill[inverse[rows], cols]
    else:
        full = np.zeros((N, 0))
    lam0 = lam[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = np.where(lam0 > 0, ebo[:, 0] / np.where(lam0 > 0, lam0, 1) * DAYS_PER_YEAR, 0.0)
    return Evaluation(shares, overall, on_time, full, A, lam, mean, var, ebo, vbo, delay, it)


def select_streams(problem: StockingProblem, parts: np.ndarray, streams: np.ndarray,
                   owner: np.ndarray, rate: np.ndarray | None = None) -> StockingProblem:
    """A problem of the parts ``parts`` (new part ``i`` = old ``parts[i]``) and the streams
    ``streams`` (old indices), stream ``k`` now belonging to new part ``owner[k]``; ``rate``:
    their rates per year if not the old streams'."""
    return StockingProblem(
        name=problem.name, currency=problem.currency, part_ids=problem.part_ids[parts],
        location_ids=problem.location_ids, parent=problem.parent, transit_days=problem.transit_days,
        unit_cost=problem.unit_cost[parts], repairable=problem.repairable[parts],
        repair_turnaround_days=problem.repair_turnaround_days[parts],
        repair_yield=problem.repair_yield[parts],
        procurement_lead_time_days=problem.procurement_lead_time_days[parts],
        class_tier=problem.class_tier, class_severity=problem.class_severity,
        class_target=problem.class_target, stream_part=owner,
        stream_class=problem.stream_class[streams],
        stream_rate_per_year=problem.stream_rate_per_year[streams] if rate is None else rate,
        stream_primary=problem.stream_primary[streams], stream_pref=problem.stream_pref[streams],
        stream_p_on_time=problem.stream_p_on_time[streams],
        stream_in_service=problem.stream_in_service[streams], cap_units=problem.cap_units,
        cap_value=problem.cap_value)


def replicate(problem: StockingProblem, parts: np.ndarray) -> StockingProblem:
    """A problem whose part ``i`` is a copy of part ``parts[i]`` (repeats allowed), each with its
    part's streams in problem order."""
    parts = np.asarray(parts, dtype=np.int64)
    order = np.argsort(problem.stream_part, kind="stable")  # by part, problem order within
    counts = np.bincount(problem.stream_part, minlength=problem.n_parts)
    first = np.cumsum(counts) - counts
    n = counts[parts]
    owner = np.repeat(np.arange(len(parts)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    idx = order[np.repeat(first[parts], n) + offset]
    return select_streams(problem, parts, idx, owner)


def subproblem(problem: StockingProblem, parts: np.ndarray) -> StockingProblem:
    """The problem restricted to the part indices ``parts`` (streams re-indexed, order kept)."""
    parts = np.asarray(parts, dtype=np.int64)
    remap = np.full(problem.n_parts, -1, dtype=np.int64)
    remap[parts] = np.arange(len(parts))
    keep = np.nonzero(remap[problem.stream_part] >= 0)[0]
    return select_streams(problem, parts, keep, remap[problem.stream_part[keep]])


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


@dataclass
class _Moving:
    """The parts still iterating in :func:`_fixed_point`, as a problem of their own: ``parts``
    (their indices in the caller's problem), their restricted lists ``loc`` / ``ok`` and the
    index arrays of the iteration."""

    problem: StockingProblem
    parts: np.ndarray
    S: np.ndarray
    loc: np.ndarray
    ok: np.ndarray

    def __post_init__(self) -> None:
        P, L = self.S.shape
        pr = self.problem
        # transposed (K', N) copies, list position first, so every per-position step reads
        # contiguous memory; padding points at an extra always-zero entry
        self.flat_t = np.ascontiguousarray(
            np.where(self.ok, pr.stream_part[:, None] * L + self.loc, P * L).T)
        self.primary_flat = pr.stream_part * L + pr.stream_primary
        self.stocked = self.S > 0
        self.A_ext = np.zeros(P * L + 1)

    def keep(self, rows: np.ndarray) -> _Moving:
        """The same for the subset ``rows`` of its parts (streams re-indexed, order kept)."""
        pr = self.problem
        remap = np.full(len(self.parts), -1, dtype=np.int64)
        remap[rows] = np.arange(len(rows))
        streams = np.nonzero(remap[pr.stream_part] >= 0)[0]
        sub = select_streams(pr, rows, streams, remap[pr.stream_part[streams]])
        return _Moving(sub, self.parts[rows], self.S[rows], self.loc[streams], self.ok[streams])


def _fixed_point(problem: StockingProblem, S: np.ndarray, A: np.ndarray, loc: np.ndarray,
                 ok: np.ndarray, order: np.ndarray, tol: float, max_iter: int
                 ) -> tuple[np.ndarray, int]:
    """Availabilities (P, L) at the fixed point of steps 1-3, from ``A``, and the iterations.

    Parts are independent, so each stops at the first iterate whose step moves none of its
    availabilities by ``tol`` or more (then ``A = T(A)`` for it, as for all parts at once
    before); once at most half the parts still move, the iteration goes on with those only, so
    the work follows the slowest parts rather than multiplying them by the whole set.
    """
    out = A.copy()
    if A.size == 0:
        return out, 0
    cur = _Moving(problem, np.arange(S.shape[0]), S, loc, ok)
    frozen = np.zeros(S.shape[0], dtype=bool)
    K = loc.shape[1]
    width = K
    it = 0
    dX: list[np.ndarray] = []
    dF: list[np.ndarray] = []
    A_prev = g_prev = None
    while True:
        it += 1
        P, L = cur.S.shape
        rate = cur.problem.stream_rate_per_year
        # Positions whose prefix (probability that every earlier location is out) is below
        # TAIL_EPS for every stream fill at most that much: they are left out (see TAIL_EPS).
        cur.A_ext[:-1] = A.ravel()
        a_t = cur.A_ext[cur.flat_t[:width]]  # (width, N)
        out_t = 1.0 - a_t
        prefix_t = np.empty_like(a_t)
        prefix_t[0] = 1.0
        for k in range(1, width):
            np.multiply(prefix_t[k - 1], out_t[k - 1], out=prefix_t[k])
        miss = prefix_t[-1] * out_t[-1]
        if width < K and miss.max(initial=0.0) > TAIL_EPS:
            width = K
            continue
        live = np.nonzero(prefix_t.max(axis=1) > TAIL_EPS)[0]
        fill_t = prefix_t * a_t
        fill_t *= rate
        direct = np.bincount(cur.flat_t[:width].ravel(), weights=fill_t.ravel(),
                             minlength=P * L + 1)
        width = min(width, int(live[-1]) + 2) if live.size else 1
        direct = direct[:-1] + np.bincount(cur.primary_flat, weights=rate * miss,
                                           minlength=P * L)
        lam = location_rates(cur.problem, direct.reshape(P, L), order)
        A_new = pipelines(cur.problem, cur.S, lam, order)[2]
        g = A_new - A
        newly = ~frozen & (np.abs(g).max(axis=1) < tol)
        if it >= max_iter:
            newly = ~frozen
        out[cur.parts[newly]] = A_new[newly]
        frozen |= newly
        if frozen.all():
            return out, it
        if A_prev is not None:
            dX.append(A - A_prev)
            dF.append(g - g_prev)
            if len(dX) > ANDERSON_MEMORY:
                dX.pop(0)
                dF.pop(0)
        A_prev, g_prev = A, g
        A = _anderson_step(A, g, dX, dF)
        A = np.where(cur.stocked, np.clip(A, 0.0, 1.0), 0.0)
        if 2 * int((~frozen).sum()) <= len(frozen):
            rows = np.nonzero(~frozen)[0]
            cur = cur.keep(rows)
            A, A_prev, g_prev = A[rows], A_prev[rows], g_prev[rows]
            dX = [d[rows] for d in dX]
            dF = [d[rows] for d in dF]
            frozen = np.zeros(len(rows), dtype=bool)
            K = cur.loc.shape[1]
            width = K
        else:
            A[frozen] = out[cur.parts[frozen]]

