"""Baselines evaluated by the same model at the same targets, to measure the system approach's savings.

* **Item approach**: every part meets every class target on its own (per part and class), by
  per-part marginal analysis (a final system greedy tops up classes that per-part ceilings leave
  short); the system targets then hold too, at a higher investment.
* **Rule of thumb**: per depot ``S = ceil(mu + k sigma)`` with ``mu`` the lead-time demand of the
  sites whose primary depot it is (``sigma = sqrt(mu)``, Poisson) and ``k`` the normal quantile of
  the strictest target of that demand; HQ the same over its resupply time. ``k`` is then raised
  in steps of 0.25 until the model says every target holds (the baseline "at equal targets").
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from optimizer.stocking.evaluate import Evaluation, evaluate_parts
from optimizer.stocking.gains import availability_coefficients, step_gains
from optimizer.stocking.greedy import TOL, grow
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem
from optimizer.stocking.result import BaselineResult


def part_class_shares(problem: StockingProblem, ev: Evaluation) -> tuple[np.ndarray, np.ndarray]:
    """(P, C) on-time share and demand per part and class."""
    P, C = problem.n_parts, problem.n_classes
    w = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    idx = problem.stream_part * C + problem.stream_class
    num = np.bincount(idx, weights=w * ev.stream_on_time, minlength=P * C).reshape(P, C)
    den = np.bincount(idx, weights=w, minlength=P * C).reshape(P, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan), den


def item_approach(problem: StockingProblem, targets: np.ndarray, max_rounds: int = 10_000) -> BaselineResult:
    """Each part meets every class target by itself (targets capped per part at its own ceiling)."""
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    S = np.zeros((P, L), dtype=np.int64)
    ev = evaluate_parts(problem, S)
    _, den = part_class_shares(problem, ev)
    w_in = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    idx = problem.stream_part * C + problem.stream_class
    ceil = np.bincount(idx, weights=w_in * problem.stream_p_on_time[:, 0], minlength=P * C).reshape(P, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        ceil = np.where(den > 0, ceil / np.where(den > 0, den, 1), np.nan)
    tgt = np.minimum(np.broadcast_to(targets, (P, C)), ceil - 0.005)
    for _ in range(max_rounds):
        share, _ = part_class_shares(problem, ev)
        short = np.where(np.isnan(tgt) | np.isnan(share) | (den <= 0), 0.0, tgt - share)
        short = np.where(short > TOL, short, 0.0)
        if not short.any():
            break
        w = short / np.where(den > 0, den, 1.0)  # (P, C)
        coef = availability_coefficients(problem, ev)
        gains = np.einsum("plc,pc->pl", step_gains(problem, S, ev, +1, coef), w)
        best = np.argmax(gains, axis=1)
        need = short.any(axis=1) & (gains[np.arange(P), best] > 1e-15)
        if not need.any():
            break
        S[np.nonzero(need)[0], best[need]] += 1
        ev = evaluate_parts(problem, S, initial_availability=ev.availability)
    if not ev.meets_targets(problem, targets):  # per-part caps can leave a system class short
        g = grow(problem, S, targets=targets)
        S, ev = g.levels, g.evaluation
    return BaselineResult("item_approach", float(problem.unit_cost @ S.sum(axis=1)),
                          ev.overall_on_time, ev.meets_targets(problem, targets), S)


def rule_of_thumb(problem: StockingProblem, targets: np.ndarray, max_steps: int = 40) -> BaselineResult:
    """mean + k sigma per depot and at HQ, k raised until the targets hold (see module docstring)."""
    P, L = problem.n_parts, problem.n_locations
    rate = problem.stream_rate_per_year
    flat = problem.stream_part * L + problem.stream_primary
    d = np.bincount(flat, weights=rate, minlength=P * L).reshape(P, L)
    t_stream = np.nan_to_num(targets[problem.stream_class], nan=0.5)
    t = np.zeros(P * L)
    np.maximum.at(t, flat, t_stream)
    t = t.reshape(P, L)
    mu = d * problem.transit_days[None, :] / DAYS_PER_YEAR
    mu[:, 0] = rate_total(problem) * problem.hq_resupply_days / DAYS_PER_YEAR
    t[:, 0] = np.nanmax(np.nan_to_num(targets, nan=0.5))
    k0 = stats.norm.ppf(np.clip(t, 0.5, 0.9999))
    for step in range(max_steps):
        k = k0 + 0.25 * step
        S = np.where(mu > 0, np.ceil(mu + k * np.sqrt(mu)), 0).astype(np.int64)
        ev = evaluate_parts(problem, S)
        if ev.meets_targets(problem, targets):
            break
    return BaselineResult("rule_of_thumb", float(problem.unit_cost @ S.sum(axis=1)),
                          ev.overall_on_time, ev.meets_targets(problem, targets), S)


def rate_total(problem: StockingProblem) -> np.ndarray:
    """(P,) total demand per year of each part."""
    return np.bincount(problem.stream_part, weights=problem.stream_rate_per_year,
                       minlength=problem.n_parts)
