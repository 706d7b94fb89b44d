"""Greedy marginal analysis for the system approach, with a pruning pass.

Targets mode: repeatedly add the units with the best predicted gain in the unmet classes' on-time
shares per unit of cost (class weights ``1 / demand`` for unmet classes, 0 for met ones) until
every class meets its target, then remove units whose removal keeps every target (most expensive
per unit of relative service lost first). Budget mode: add the units with the best gain in the
overall demand-weighted on-time share per unit cost while they fit the budget.

Gains come from :mod:`optimizer.stocking.gains` (first order, resupply rates held fixed); the
full model is re-evaluated after every batch, so the targets are checked on the exact model.
At most one unit per part is added per batch (units of one part interact); ``batch_fraction``
of the (part, location) pairs may take a unit per batch (1 unit per batch under 500 pairs, i.e.
plain marginal analysis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimizer.stocking.evaluate import Evaluation, evaluate_parts
from optimizer.stocking.gains import availability_coefficients, step_gains
from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.result import FrontierPoint

TOL = 1e-9
LOOP_TOL = 1e-7
"""Fixed-point tolerance of the evaluations inside the search loops (final checks use 1e-10)."""
CEILING_MARGIN = 0.005
"""A target above the model's ceiling (all stock infinite) is capped at ceiling - this margin."""

Progress = Callable[[float], None]
"""Called with the fraction of the work done (0..1), for progress bars."""


@dataclass
class GrowResult:
    levels: np.ndarray
    evaluation: Evaluation
    path: list[FrontierPoint]
    stuck: bool


def class_ceiling(problem: StockingProblem) -> np.ndarray:
    """(C,) on-time share per class if every preferred location always had stock."""
    p_first = problem.stream_p_on_time[:, 0]
    shares = np.bincount(problem.stream_class,
                         weights=np.where(problem.stream_in_service,
                                          problem.stream_rate_per_year * p_first, 0.0),
                         minlength=problem.n_classes)
    D = problem.class_demand_per_year
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(D > 0, shares / np.where(D > 0, D, 1), np.nan)


def effective_targets(problem: StockingProblem) -> tuple[np.ndarray, list[str]]:
    """Targets capped below the ceiling, with a note per capped or unconstrained class."""
    ceiling = class_ceiling(problem)
    eff = problem.class_target.copy()
    notes: list[str] = []
    D = problem.class_demand_per_year
    for c in range(problem.n_classes):
        label = problem.class_label(c)
        if np.isnan(eff[c]):
            notes.append(f"{label}: no part deadline (response milestone), not constrained")
        elif D[c] <= 0:
            notes.append(f"{label}: no demand")
            eff[c] = np.nan
        elif eff[c] > ceiling[c] - CEILING_MARGIN:
            capped = max(0.0, ceiling[c] - CEILING_MARGIN)
            notes.append(f"{label}: target {eff[c]:.4f} is above what the network can reach "
                         f"({ceiling[c]:.4f} with stock everywhere); aiming at {capped:.4f}")
            eff[c] = capped
    return eff, notes


def _batch_size(problem: StockingProblem, fraction: float) -> int:
    """Units per batch: ``fraction`` of the (part, location) pairs, at least 1."""
    return max(1, int(fraction * problem.n_parts * problem.n_locations))


def grow(problem: StockingProblem, levels: np.ndarray, *, targets: np.ndarray | None = None,
         budget: float | None = None, stop_investment: float | None = None,
         stop_on_time: float | None = None, batch_fraction: float = 0.002, lookahead: int = 2,
         max_rounds: int = 1_000_000, progress: Progress | None = None) -> GrowResult:
    """Add units greedily from ``levels``.

    With ``targets`` (C,) add until every class with a finite target meets it; otherwise maximise
    the overall on-time share until ``budget``, ``stop_investment`` or ``stop_on_time`` is reached
    or no unit gains anything. Returns the levels, their evaluation and the path (frontier points).
    """
    S = levels.astype(np.int64).copy()
    cost = problem.unit_cost
    D = problem.class_demand_per_year
    ev = evaluate_parts(problem, S)
    invest = float(cost @ S.sum(axis=1))
    path = [FrontierPoint(float(invest), float(ev.overall_on_time), int(S.sum()))]
    n_max = _batch_size(problem, batch_fraction)
    total_D = D.sum()
    stuck = False
    start_short = None
    for _ in range(max_rounds):
        if targets is not None:
            on = np.nan_to_num(ev.class_on_time, nan=1.0)
            short = np.where(np.isnan(targets), 0.0, targets - on)
            short = np.where(short > TOL, short, 0.0)
            if not short.any():
                break
            start_short = short.sum() if start_short is None else start_short
            if progress:
                progress(1 - short.sum() / start_short)
            w = short / np.where(D > 0, D, 1.0) / short.sum()
            need = short.sum()
        else:
            if stop_on_time is not None and ev.overall_on_time >= stop_on_time:
                break
            if stop_investment is not None and invest >= stop_investment:
                break
            if progress and stop_investment:
                progress(min(1.0, invest / stop_investment))
            w = np.where(D > 0, 1.0 / total_D, 0.0)
            need = np.inf
        coef = availability_coefficients(problem, ev)
        scores = []
        for k in range(1, lookahead + 1):  # k-unit steps see past the S-shape of availability
            sc = step_gains(problem, S, ev, k, coef) @ w / (k * cost[:, None])
            if budget is not None:
                sc = np.where(k * cost[:, None] <= budget - invest + 1e-9, sc, -np.inf)
            scores.append(sc)
        score = np.stack(scores, axis=2).reshape(len(S), -1)  # (P, L * lookahead)
        flat = np.argmax(score, axis=1)
        best, step = np.divmod(flat, lookahead)
        step = step + 1
        best_score = score[np.arange(len(best)), flat]
        cand = np.nonzero(best_score > 1e-15)[0]
        if cand.size == 0:
            stuck = targets is not None
            break
        cand = cand[np.argsort(-best_score[cand], kind="stable")]
        take: list[int] = []
        got = 0.0
        spent = 0.0
        for p in cand:
            c_p = cost[p] * step[p]
            if budget is not None and invest + spent + c_p > budget + 1e-9:
                continue
            take.append(p)
            got += best_score[p] * c_p
            spent += c_p
            if len(take) >= n_max or got >= need:
                break
        if not take:
            break
        take_arr = np.array(take)
        S[take_arr, best[take_arr]] += step[take_arr]
        invest += spent
        ev = evaluate_parts(problem, S, initial_availability=ev.availability, tol=LOOP_TOL)
        path.append(FrontierPoint(float(invest), float(ev.overall_on_time), int(S.sum())))
    if progress:
        progress(1.0)
    return GrowResult(S, ev, path, stuck)


def prune(problem: StockingProblem, levels: np.ndarray, targets: np.ndarray, *,
          batch_fraction: float = 0.002, max_rounds: int = 10_000) -> tuple[np.ndarray, Evaluation]:
    """Remove units not needed for ``targets``: costliest per unit of relative service lost first.

    Each batch is verified on the full model; a batch that breaks a target is halved, and a
    single unit that breaks one is never tried again.
    """
    S = levels.astype(np.int64).copy()
    ev = evaluate_parts(problem, S)
    if not ev.meets_targets(problem, targets):
        return S, ev
    cost = problem.unit_cost
    D = problem.class_demand_per_year
    con = ~np.isnan(targets) & (D > 0)
    blocked = np.zeros(S.shape, dtype=bool)
    n_max = _batch_size(problem, batch_fraction)
    batch = n_max
    for _ in range(max_rounds):
        slack = np.where(con, np.nan_to_num(ev.class_on_time, nan=1.0) - targets, np.inf)
        slack = np.maximum(slack, 0.0)
        loss = -step_gains(problem, S, ev, -1) / np.where(D > 0, D, 1.0)  # (P, L, C) share lost
        loss_c = np.where(con, loss, 0.0)
        ok = (S > 0) & ~blocked & np.all(loss_c <= slack + 1e-15, axis=2)
        rel = np.where(con, np.maximum(loss_c, 0.0) / np.maximum(np.where(con, slack, 1.0), 1e-12),
                       0.0).sum(axis=2)
        score = np.where(ok, cost[:, None] / (rel + 1e-9), -np.inf)
        best = np.argmax(score, axis=1)
        best_score = score[np.arange(len(best)), best]
        cand = np.nonzero(np.isfinite(best_score))[0]
        if cand.size == 0:
            break
        cand = cand[np.argsort(-best_score[cand], kind="stable")]
        used = np.zeros(problem.n_classes)
        take = []
        for p in cand:
            lp = loss_c[p, best[p]]
            if np.any(used + np.maximum(lp, 0) > slack + 1e-15):
                continue
            used += np.maximum(lp, 0)
            take.append(p)
            if len(take) >= batch:
                break
        if not take:
            break
        take_arr = np.array(take)
        S2 = S.copy()
        S2[take_arr, best[take_arr]] -= 1
        ev2 = evaluate_parts(problem, S2, initial_availability=ev.availability)
        if ev2.meets_targets(problem, targets):
            S, ev = S2, ev2
            batch = min(n_max, batch * 2)
        elif len(take) == 1:
            blocked[take_arr, best[take_arr]] = True
        else:
            batch = max(1, len(take) // 2)
    return S, ev


def exchange(problem: StockingProblem, levels: np.ndarray, targets: np.ndarray, *,
             max_tries: int = 200, max_moves: int = 1000) -> tuple[np.ndarray, Evaluation]:
    """1-for-1 exchanges: drop a unit and add a cheaper one that keeps every target.

    For each unit (costliest first) the cheapest single unit whose predicted gain covers the
    predicted deficit is tried and the move is verified on the full model. Repeats until no
    exchange among the first ``max_tries`` units saves money.
    """
    S = levels.astype(np.int64).copy()
    ev = evaluate_parts(problem, S)
    if not ev.meets_targets(problem, targets):
        return S, ev
    cost = problem.unit_cost
    D = problem.class_demand_per_year
    con = ~np.isnan(targets) & (D > 0)
    Dn = np.where(D > 0, D, 1.0)
    P, L = S.shape
    for _ in range(max_moves):
        slack = np.where(con, np.nan_to_num(ev.class_on_time, nan=1.0) - targets, np.inf)
        coef = availability_coefficients(problem, ev)
        loss = -step_gains(problem, S, ev, -1, coef) / Dn
        gain = step_gains(problem, S, ev, +1, coef) / Dn
        rp, rj = np.nonzero(S > 0)
        order = np.argsort(-cost[rp], kind="stable")[:max_tries]
        moved = False
        for i in order:
            p, j = rp[i], rj[i]
            deficit = np.where(con, np.maximum(loss[p, j] - slack, 0.0), 0.0)
            fits = np.all(gain >= deficit - 1e-15, axis=2) & (cost[:, None] < cost[p] - 1e-9)
            fits[p, j] = False
            if not fits.any():
                continue
            cand_cost = np.where(fits, cost[:, None], np.inf).ravel()
            for flat in np.argsort(cand_cost, kind="stable")[:3]:
                if not np.isfinite(cand_cost[flat]):
                    break
                q, k = divmod(int(flat), L)
                S2 = S.copy()
                S2[p, j] -= 1
                S2[q, k] += 1
                ev2 = evaluate_parts(problem, S2, initial_availability=ev.availability)
                if ev2.meets_targets(problem, targets):
                    S, ev, moved = S2, ev2, True
                    break
            if moved:
                break
        if not moved:
            break
    return S, ev


def ruin_recreate(problem: StockingProblem, levels: np.ndarray, targets: np.ndarray, *,
                  max_tries: int = 30, batch_fraction: float = 0.002) -> tuple[np.ndarray, Evaluation]:
    """Drop one unit (costliest first), re-grow to the targets and prune; keep it if cheaper."""
    S = levels.astype(np.int64).copy()
    cost = problem.unit_cost
    best_cost = float(cost @ S.sum(axis=1))
    tried: set[tuple[int, int]] = set()
    for _ in range(max_tries):
        rp, rj = np.nonzero(S > 0)
        order = [i for i in np.argsort(-cost[rp], kind="stable") if (rp[i], rj[i]) not in tried]
        if not order:
            break
        p, j = int(rp[order[0]]), int(rj[order[0]])
        tried.add((p, j))
        S2 = S.copy()
        S2[p, j] -= 1
        g = grow(problem, S2, targets=targets, batch_fraction=batch_fraction)
        if g.stuck:
            continue
        S3, _ = prune(problem, g.levels, targets, batch_fraction=batch_fraction)
        c3 = float(cost @ S3.sum(axis=1))
        if c3 < best_cost - 1e-9:
            S, best_cost = S3, c3
            tried.clear()
    return S, evaluate_parts(problem, S)
