"""Baselines evaluated by the same model at the same targets, to measure the system approach's savings.

* **Item approach**: every part meets every class target on its own. Per part (parts are
  independent given their own levels) a marginal analysis adds the unit with the best gain in
  that part's short classes (weights ``shortfall / demand``, 1- and 2-unit steps) until each of
  its class shares reaches ``min(target, part ceiling - 0.005)``. Parts whose own ceiling caps
  them can leave a system class short; the other parts' goals in that class are then raised by
  the missing share (scaled to their demand) and the per-part analysis resumes, until the
  system targets hold.
* **Rule of thumb**: per depot ``S = ceil(mu + k sigma)`` with ``mu`` the lead-time demand of the
  sites whose primary depot it is (``sigma = sqrt(mu)``, Poisson) and ``k`` the normal quantile of
  the strictest target of that demand; HQ the same over its resupply time (closed form, no
  search per part). ``k`` is then raised on a grid of 0.25 to the smallest step at which the model
  says every target holds (the baseline "at equal targets"): doubling, then bisection, so a
  handful of whole-plan evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from optimizer.stocking.columns import LOOP_TOL, part_contributions
from optimizer.stocking.evaluate import Evaluation, evaluate_parts, subproblem
from optimizer.stocking.gains import availability_coefficients, step_gains
from optimizer.stocking.master import TARGET_MARGIN
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem
from optimizer.stocking.result import BaselineResult
from optimizer.stocking.targets import CEILING_MARGIN

RAISE_ROUNDS = 20
"""Item approach: rounds of raising per-part goals when capped parts leave a system class short."""
RAISE_FACTOR = 1.2
"""A short class's goals are raised by this multiple of the missing share (scaled to the demand of
the parts that can still be raised); a little over 1 saves rounds."""
RAISE_MARGIN = CEILING_MARGIN / 10
"""Raised per-part goals stop this far below the part's own ceiling (a system target capped at
its ceiling - CEILING_MARGIN stays reachable)."""


def part_class_demand(problem: StockingProblem) -> tuple[np.ndarray, np.ndarray]:
    """``(den, ceiling)``, each (P, C): in-service demand per year of each part in each class and
    the share it would reach with stock everywhere (NaN without demand)."""
    P, C = problem.n_parts, problem.n_classes
    w = np.where(problem.stream_in_service, problem.stream_rate_per_year, 0.0)
    idx = problem.stream_part * C + problem.stream_class
    den = np.bincount(idx, weights=w, minlength=P * C).reshape(P, C)
    top = np.bincount(idx, weights=w * problem.stream_p_on_time[:, 0], minlength=P * C).reshape(P, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        return den, np.where(den > 0, top / np.where(den > 0, den, 1.0), np.nan)


@dataclass
class PartState:
    """Per-part search state: levels (P, L), on-time demand per class (P, C) and availabilities
    (P, L) of each part at its current levels (from that part's last evaluation)."""

    levels: np.ndarray
    contributions: np.ndarray
    availability: np.ndarray


def per_part_levels(problem: StockingProblem, goal: np.ndarray, state: PartState, *,
                    max_rounds: int = 100_000) -> PartState:
    """Per-part marginal analysis: each part adds the best unit (1- or 2-unit steps, weights
    ``shortfall / demand`` per short class) until its share in every class reaches ``goal``
    (P, C; NaN = no goal). Only parts still short are evaluated in a round (one vectorised,
    warm-started evaluation of those parts); every part that is evaluated ends evaluated at its
    final levels, so ``contributions`` stay exact. A part with no step that gains anything
    stops where it is."""
    den, _ = part_class_demand(problem)
    S = state.levels.astype(np.int64).copy()
    contrib = state.contributions.copy()
    A = state.availability.copy()
    L = S.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = contrib / np.where(den > 0, den, 1.0)
    short0 = np.where(np.isnan(goal) | (den <= 0), 0.0, goal - share)
    active = np.nonzero(np.any(short0 > 0, axis=1))[0]
    for _ in range(max_rounds):
        if active.size == 0:
            break
        sub = subproblem(problem, active)
        ev = evaluate_parts(sub, S[active], tol=LOOP_TOL, with_fill=False,
                            initial_availability=A[active])
        A[active] = ev.availability
        contrib[active] = part_contributions(sub, ev)
        d = den[active]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = contrib[active] / np.where(d > 0, d, 1.0)
        short = np.where(np.isnan(goal[active]) | (d <= 0), 0.0, goal[active] - share)
        short = np.maximum(short, 0.0)
        need = short.any(axis=1)
        w = short / np.where(d > 0, d, 1.0)  # (Pa, C): relative weight of each short class
        coef = availability_coefficients(sub, ev)
        best = np.full((len(active), L), -np.inf)
        best_step = np.ones((len(active), L), dtype=np.int64)
        for k in (1, 2):  # 2-unit steps see past the S-shape of availability
            ratio = np.einsum("plc,pc->pl", step_gains(sub, S[active], ev, k, coef), w) / k
            better = ratio > best + 1e-15
            best = np.where(better, ratio, best)
            best_step = np.where(better, k, best_step)
        j = np.argmax(best, axis=1)
        rows = np.arange(len(active))
        go = need & (best[rows, j] > 1e-15)
        S[active[go], j[go]] += best_step[rows[go], j[go]]
        active = active[go]
    return PartState(S, contrib, A)


def item_approach(problem: StockingProblem, targets: np.ndarray) -> BaselineResult:
    """Each part meets every class target by itself (capped per part at its own ceiling), goals
    raised where capped parts leave the system short (see the module docstring)."""
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    D = problem.class_demand_per_year
    den, ceil = part_class_demand(problem)
    t = np.broadcast_to(np.asarray(targets, dtype=float), den.shape)
    goal = np.where((den > 0) & ~np.isnan(t), np.minimum(t, ceil - CEILING_MARGIN) + TARGET_MARGIN,
                    np.nan)
    cap = ceil - RAISE_MARGIN
    con = ~np.isnan(targets) & (D > 0)
    state = per_part_levels(problem, goal, PartState(np.zeros((P, L), dtype=np.int64),
                                                     np.zeros((P, C)), np.zeros((P, L))))
    boost = 1.0
    for _ in range(RAISE_ROUNDS):
        on = state.contributions.sum(axis=0) / np.where(D > 0, D, 1.0)
        deficit = np.where(con, targets + TARGET_MARGIN - on, 0.0)
        deficit = np.where(deficit > 0, deficit, 0.0)
        if not deficit.any():
            break
        room = np.nan_to_num(cap - goal, nan=0.0) > 1e-12  # parts that can still be raised
        free = np.where(room, den, 0.0).sum(axis=0)  # (C,) their demand
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.where(free > 0, RAISE_FACTOR * deficit * D / np.where(free > 0, free, 1.0), 0.0)
        if not np.any(room & (step[None, :] > 0)):
            break
        goal = np.where(room, np.minimum(goal + boost * step[None, :], cap), goal)
        new = per_part_levels(problem, goal, state)
        # parts already above their raised goals add nothing: raise faster next time
        boost = 2 * boost if np.array_equal(new.levels, state.levels) else 1.0
        state = new
    S = state.levels
    ev = evaluate_parts(problem, S, initial_availability=state.availability)
    return BaselineResult("item_approach", float(problem.unit_cost @ S.sum(axis=1)),
                          ev.overall_on_time, ev.meets_targets(problem, targets), S)


def rule_of_thumb(problem: StockingProblem, targets: np.ndarray, max_steps: int = 40) -> BaselineResult:
    """mean + k sigma per depot and at HQ, the smallest k on the 0.25 grid at which the targets
    hold (see the module docstring)."""
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
    done: dict[int, tuple[np.ndarray, Evaluation]] = {}

    def at(i: int) -> tuple[np.ndarray, Evaluation]:
        if i not in done:
            S = np.where(mu > 0, np.ceil(mu + (k0 + 0.25 * i) * np.sqrt(mu)), 0).astype(np.int64)
            warm = done[max(done)][1].availability if done else None
            done[i] = (S, evaluate_parts(problem, S, initial_availability=warm))
        return done[i]

    def ok(i: int) -> bool:
        return at(i)[1].meets_targets(problem, targets)

    last = max_steps - 1
    lo, hi = -1, 0  # lo: known short (or below the grid), hi: candidate
    while not ok(hi) and hi < last:
        lo, hi = hi, min(last, 2 * hi + 1)
    if ok(hi):
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    S, ev = at(hi)
    return BaselineResult("rule_of_thumb", float(problem.unit_cost @ S.sum(axis=1)),
                          ev.overall_on_time, ev.meets_targets(problem, targets), S)


def rate_total(problem: StockingProblem) -> np.ndarray:
    """(P,) total demand per year of each part."""
    return np.bincount(problem.stream_part, weights=problem.stream_rate_per_year,
                       minlength=problem.n_parts)
