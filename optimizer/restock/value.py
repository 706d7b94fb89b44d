"""The service an order adds, computed on the plan the orders lead to.

An order line changes one part's levels: a buy or a repair adds units at its destination, a
transfer moves units from its source to its destination. Its **gain** is the on-time in-service
demand per year (requests per year, per service class) that the levels after every order give
over the same levels without that line (leave one out).

Two models value lines through the same interface (:class:`OrderModel`):

* :class:`StockingModel`: the two-echelon stocking model
  (:func:`optimizer.stocking.evaluate.evaluate_parts`). Parts are independent given their own
  levels, so a line's exact gain costs one evaluation of its part only; overflow between depots,
  slow locations early in a list and the HQ's backorders are in the model, so a unit that draws
  demand away from better-placed stock shows a gain at or below zero. Lines are first valued to
  first order (the availability change of each entry at the rates of the plan, as the stocking
  solvers steer by, :mod:`optimizer.stocking.gains`), and exactly when that falls below
  ``exact_below``: the lines near the floor, where the decision is made. It can also top up
  classes left below the share aimed at (:meth:`StockingModel.top_up`).
* :class:`PoissonProxy`: without the stocking model, one class ("all"); the unit lifting a level
  from ``s - 1`` to ``s`` gains ``weight x P(pipeline = s - 1)`` (a Poisson pipeline; the full
  weight while it clears a backorder), with the weight and pipeline mean of
  :class:`optimizer.restock.inputs.RestockInputs`, and nothing above the target (the re-plan
  holds no use for it), so shipping a source's excess costs no service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from scipy import stats

from optimizer.restock.inputs import RestockInputs
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.columns import part_contributions
from optimizer.stocking.evaluate import evaluate_parts, replicate, subproblem
from optimizer.stocking.gains import availability_coefficients, step_gains
from optimizer.stocking.problem import StockingProblem

EVAL_TOL = 1e-7
"""Fixed-point tolerance of the line evaluations (availabilities), warm-started from the levels
with the line: line gains (differences of a part's on-time demand with and without the line)
agree with evaluations at 1e-10 to about 1e-6 requests per year, well below the 1e-3 floor."""
CHUNK_STREAMS = 50_000
"""Streams evaluated per call when valuing many lines. A call iterates until its slowest part
converges, so smaller batches spend fewer iterations on parts already converged
(BENCHMARKS.md "Restock"); it also bounds memory."""
PARALLEL_STREAMS = 600_000
"""Batches with more streams than this are split over the model's worker processes."""


class OrderModel(Protocol):
    """Values order lines: on-time demand per year per class that each line adds."""

    classes: tuple[str, ...]

    def gains(self, levels: np.ndarray, parts: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        """(n, C): on-time demand per year of ``levels`` (P, L, positions after the orders) less
        that of the same levels with ``deltas[i]`` (L,) taken off part ``parts[i]``."""
        ...

    def top_up(self, levels: np.ndarray, min_gain: float) -> np.ndarray:
        """(P, L) units to add to ``levels`` so that every class reaches the share aimed at, each
        adding at least ``min_gain`` a year (zeros when nothing is aimed at or nothing helps)."""
        ...


class PoissonProxy:
    """First-order proxy of :mod:`optimizer.restock.value` (one class, ``all``)."""

    classes = ("all",)

    def __init__(self, inp: RestockInputs) -> None:
        self.weight = (inp.service_weight if inp.service_weight is not None
                       else inp.demand_per_quarter * 4.0)
        self.mean = (inp.pipeline_mean if inp.pipeline_mean is not None
                     else inp.demand_per_quarter * 4.0 * inp.inbound_days / 365.0)
        self.target = inp.target

    def _value(self, p: np.ndarray, j: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Service per year of level ``level`` at (p, j) relative to level 0: the sum of unit
        gains below it, up to the target (a negative level counts -weight per unit short)."""
        w, m = self.weight[p, j], np.maximum(self.mean[p, j], 1e-12)
        upto = np.minimum(level, self.target[p, j])
        cdf = stats.poisson.cdf(np.maximum(upto, 0) - 1, m)  # sum of pmf(0..s-1)
        return w * np.where(upto > 0, cdf, upto)

    def gains(self, levels: np.ndarray, parts: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        parts = np.asarray(parts, dtype=np.int64)
        out = np.zeros(len(parts))
        rows, cols = np.nonzero(deltas)
        if rows.size:
            p = parts[rows]
            s = levels[p, cols]
            diff = self._value(p, cols, s) - self._value(p, cols, s - deltas[rows, cols])
            np.add.at(out, rows, diff)
        return out[:, None]

    def top_up(self, levels: np.ndarray, min_gain: float) -> np.ndarray:
        return np.zeros_like(levels, dtype=np.int64)


class StockingModel:
    """Line gains and top-ups on a :class:`StockingProblem` (see the module docstring).

    Parameters
    ----------
    problem : the forecast-scaled stocking problem the run planned on.
    aimed_at : (C,) share each class is aimed at (NaN: not constrained), or None (no top-up).
    fold : maps (P, L) positions to the model's levels (e.g. stock of superseded parts counted
        on their successor); None: the positions clipped at 0.
    cluster : where large batches of lines are valued (:mod:`optimizer.stocking.cluster`; the
        problem is sent to the workers once); None: in this process.
    exact_below : lines whose first-order gain is at least this (on-time requests per year) keep
        it; the others are valued exactly. None: every line exactly.
    """

    def __init__(self, problem: StockingProblem, aimed_at: np.ndarray | None = None,
                 fold: Callable[[np.ndarray], np.ndarray] | None = None,
                 cluster: Cluster | None = None, exact_below: float | None = None) -> None:
        self.problem = problem
        self.aimed_at = aimed_at
        self.fold = fold
        self.cluster = cluster
        self.exact_below = exact_below
        self.classes = tuple(problem.class_label(c) for c in range(problem.n_classes))
        self._streams = np.bincount(problem.stream_part, minlength=problem.n_parts)
        self._cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._last: dict[int, np.ndarray] = {}  # part -> availabilities it last converged to

    def _warm(self, part: int, levels: np.ndarray) -> np.ndarray:
        """(L,) start of a part's fixed point: the availabilities of these very levels if known,
        else the part's last ones (nearby levels: few iterations), else zeros (cold)."""
        hit = self._cache.get(_key(part, levels))
        if hit is not None:
            return hit[1]
        return self._last.get(int(part), np.zeros(len(levels)))

    def levels(self, positions: np.ndarray) -> np.ndarray:
        """The model's (P, L) levels for positions after orders."""
        lv = np.clip(np.asarray(positions), 0, None).astype(np.int64)
        return lv if self.fold is None else np.asarray(self.fold(lv), dtype=np.int64)

    def contributions(self, parts: np.ndarray, levels: np.ndarray,
                      warm: np.ndarray | None = None) -> np.ndarray:
        """(n, C) on-time demand per year of part ``parts[i]`` at levels ``levels[i]`` (cached).

        ``warm`` (n, L) levels whose cached availabilities start each fixed point (e.g. the
        levels with the line, for the levels without it)."""
        parts = np.asarray(parts, dtype=np.int64)
        levels = np.asarray(levels, dtype=np.int64)
        keys = [_key(p, lv) for p, lv in zip(parts, levels, strict=True)]
        seen: dict[bytes, int] = {}
        todo = [i for i, k in enumerate(keys) if k not in self._cache and seen.setdefault(k, i) == i]
        if todo:
            idx = np.array(todo)
            init = np.zeros((len(idx), levels.shape[1]))
            for n, i in enumerate(idx):
                hit = None if warm is None else self._cache.get(_key(parts[i], warm[i]))
                init[n] = hit[1] if hit is not None else self._last.get(
                    int(parts[i]), init[n])
            chunks = _chunks(self._streams[parts[idx]], CHUNK_STREAMS)
            jobs = [(parts[idx[c]], levels[idx[c]], init[c]) for c in chunks]
            streams = int(self._streams[parts[idx]].sum())
            for c, (con, avail) in zip(chunks, _map(self.problem, jobs, self.cluster, streams),
                                       strict=True):
                for i, row, a in zip(idx[c], con, avail, strict=True):
                    self._cache[keys[i]] = (row, a)
                    self._last[int(parts[i])] = a
        out = np.zeros((len(parts), self.problem.n_classes))
        for i, k in enumerate(keys):
            out[i] = self._cache[k][0]
        return out

    def gains(self, levels: np.ndarray, parts: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        """See :meth:`OrderModel.gains`. With ``exact_below`` set, a line is first valued to
        first order (:func:`first_order`) and valued exactly only when that is below
        ``exact_below`` (or when its part is tied to others by the fold)."""
        parts = np.asarray(parts, dtype=np.int64)
        deltas = np.asarray(deltas, dtype=np.int64)
        if self.exact_below is None or len(parts) == 0:
            return self.exact_gains(levels, parts, deltas)
        linked = self._linked(levels)
        out = np.zeros((len(parts), self.problem.n_classes))
        own = np.nonzero(~linked[parts])[0]
        if own.size:
            out[own] = self.first_order(self.levels(levels), parts[own], deltas[own])
        exact = linked[parts] | (out.sum(axis=1) < self.exact_below)
        if exact.any():
            out[exact] = self.exact_gains(levels, parts[exact], deltas[exact])
        return out

    def first_order(self, lv: np.ndarray, parts: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        """(n, C) first-order gains of lines on model levels ``lv``: the change of on-time demand
        when each of the line's entries is taken off alone, at the rates of ``lv``
        (:func:`optimizer.stocking.gains.step_gains`), summed over its entries and negated."""
        uniq = np.unique(parts)
        sub = subproblem(self.problem, uniq)
        start = np.array([self._warm(p, lv[p]) for p in uniq]).reshape(len(uniq), lv.shape[1])
        ev = evaluate_parts(sub, lv[uniq], tol=EVAL_TOL, with_fill=False,
                            initial_availability=np.where(start.any(axis=1)[:, None], start,
                                                          (lv[uniq] > 0).astype(float)))
        con = part_contributions(sub, ev)
        for k, p in enumerate(uniq):
            self._cache.setdefault(_key(p, lv[p]), (con[k], ev.availability[k]))
            self._last[int(p)] = ev.availability[k]
        coef = availability_coefficients(sub, ev)
        row = np.searchsorted(uniq, parts)
        out = np.zeros((len(parts), self.problem.n_classes))
        line, loc = np.nonzero(deltas)
        steps = -deltas[line, loc]
        for step in np.unique(steps):
            g = step_gains(sub, lv[uniq], ev, int(step), coef)  # (Pu, L, C)
            k = steps == step
            np.add.at(out, line[k], -g[row[line[k]], loc[k]])
        return out

    def exact_gains(self, levels: np.ndarray, parts: np.ndarray, deltas: np.ndarray
                    ) -> np.ndarray:
        """(n, C) gains of lines by evaluating each part with and without its line."""
        parts = np.asarray(parts, dtype=np.int64)
        with_ = self.levels(levels)
        rows_p: list[int] = []
        rows_with: list[np.ndarray] = []
        rows_without: list[np.ndarray] = []
        owner: list[int] = []
        linked = self._linked(levels)
        for i, (p, d) in enumerate(zip(parts, np.asarray(deltas), strict=True)):
            if not linked[p]:
                changed = [int(p)]
                without_rows = {int(p): np.maximum(with_[p] - d, 0)}
            else:
                raw = np.array(levels, copy=True)
                raw[p] = raw[p] - d
                without = self.levels(raw)
                changed = list(np.nonzero(np.any(without != with_, axis=1))[0])
                without_rows = {int(r): without[r] for r in changed}
            for r in changed:
                rows_p.append(int(r))
                rows_with.append(with_[r])
                rows_without.append(without_rows[int(r)])
                owner.append(i)
        out = np.zeros((len(parts), self.problem.n_classes))
        if rows_p:
            rp = np.array(rows_p)
            w = np.array(rows_with)
            diff = self.contributions(rp, w) - self.contributions(rp, np.array(rows_without), w)
            np.add.at(out, np.array(owner), diff)
        return out

    def _linked(self, positions: np.ndarray) -> np.ndarray:
        """(P,) bool: parts whose model levels the fold ties to other parts (members and
        representatives of a pool); the others' model levels are their own positions."""
        P = np.shape(positions)[0]
        if self.fold is None:
            return np.zeros(P, dtype=bool)
        probe = np.clip(np.asarray(positions), 0, None).astype(np.int64) + 1
        return np.any(np.asarray(self.fold(probe)) != probe, axis=1)

    def class_on_time(self, positions: np.ndarray) -> np.ndarray:
        """(C,) on-time share per class at the given positions (NaN: no in-service demand)."""
        lv = self.levels(positions)
        con = self.contributions(np.arange(self.problem.n_parts), lv).sum(axis=0)
        D = self.problem.class_demand_per_year
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(D > 0, con / np.where(D > 0, D, 1.0), np.nan)

    def shares(self, positions: np.ndarray) -> tuple[np.ndarray, float]:
        """(C,) on-time share per class and the share over all in-service demand."""
        return self.shares_many([positions])[0]

    def shares_many(self, positions: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        """:meth:`shares` of several (P, L) positions, their new part evaluations in one batch
        (so large batches spread over the cluster)."""
        P = self.problem.n_parts
        lv = np.concatenate([self.levels(pos) for pos in positions]) if positions else \
            np.zeros((0, self.problem.n_locations), dtype=np.int64)
        con = self.contributions(np.tile(np.arange(P), len(positions)), lv)
        D = self.problem.class_demand_per_year
        out = []
        for k in range(len(positions)):
            total = con[k * P:(k + 1) * P].sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_class = np.where(D > 0, total / np.where(D > 0, D, 1.0), np.nan)
            ok = ~np.isnan(per_class) & (D > 0)
            overall = float(per_class[ok] @ D[ok] / D[ok].sum()) if ok.any() else float("nan")
            out.append((per_class, overall))
        return out

    def short_classes(self, positions: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """(C,) bool: classes below the share aimed at."""
        if self.aimed_at is None:
            return np.zeros(self.problem.n_classes, dtype=bool)
        share = self.class_on_time(positions)
        ok = ~np.isnan(self.aimed_at) & ~np.isnan(share)
        return ok & (share < np.where(ok, self.aimed_at, 0.0) - tol)

    def top_up(self, levels: np.ndarray, min_gain: float, *, per_round: int = 20,
               max_rounds: int = 40) -> np.ndarray:
        """Units that lift the short classes to their aimed-at share, best first.

        Each round ranks one more unit at every (part, location) by its first-order gain in the
        short classes (each weighted by 1 / its demand) per unit of money, adds the best unit of
        each of the ``per_round`` best parts, and keeps those whose exact gain (on the model) is
        at least ``min_gain`` a year and positive in a short class. Only parts without
        superseded members are topped up (their levels are their own).
        """
        pr = self.problem
        P, L = np.shape(levels)
        added = np.zeros((P, L), dtype=np.int64)
        D = pr.class_demand_per_year
        tried = np.zeros((P, L), dtype=bool)
        g = np.zeros((P, L, pr.n_classes))
        stale = np.ones(P, dtype=bool)
        for _ in range(max_rounds):
            pos = np.asarray(levels) + added
            short = self.short_classes(pos)
            if not short.any():
                break
            lv = self.levels(pos)
            own = np.all(lv == np.clip(pos, 0, None), axis=1)  # the fold leaves the row alone
            redo = np.nonzero(stale & own)[0]
            if redo.size:
                sub = subproblem(pr, redo)
                ev = evaluate_parts(sub, lv[redo], tol=EVAL_TOL, with_fill=False)
                g[redo] = step_gains(sub, lv[redo], ev, 1, availability_coefficients(sub, ev))
                stale[redo] = False
            score = (g[:, :, short] / D[short]).sum(axis=2) / pr.unit_cost[:, None]
            score = np.where((g.sum(axis=2) >= min_gain) & ~tried & own[:, None], score, -np.inf)
            best_j = np.argmax(score, axis=1)
            best = score[np.arange(P), best_j]
            order = np.argsort(-best, kind="stable")[:per_round]
            order = order[np.isfinite(best[order]) & (best[order] > 0)]
            if order.size == 0:
                break
            cand_p, cand_j = order, best_j[order]
            tried[cand_p, cand_j] = True
            trial = pos.copy()
            trial[cand_p, cand_j] += 1
            delta = np.zeros((len(cand_p), L), dtype=np.int64)
            delta[np.arange(len(cand_p)), cand_j] = 1
            exact = self.exact_gains(trial, cand_p, delta)
            keep = (exact.sum(axis=1) >= min_gain) & (exact[:, short] > 0).any(axis=1)
            np.add.at(added, (cand_p[keep], cand_j[keep]), 1)
            tried[cand_p[keep], cand_j[keep]] = False  # a further unit there may help too
            stale[cand_p[keep]] = True
        return added


def _key(part: int, levels: np.ndarray) -> bytes:
    return np.int64(part).tobytes() + np.asarray(levels, dtype=np.int64).tobytes()


def _chunks(streams: np.ndarray, limit: int) -> list[np.ndarray]:
    """Consecutive index ranges whose stream counts sum to at most ``limit`` (at least one)."""
    out, start, width = [], 0, 0
    for i, n in enumerate(streams):
        if i > start and width + n > limit:
            out.append(np.arange(start, i))
            start, width = i, 0
        width += n
    if len(streams):
        out.append(np.arange(start, len(streams)))
    return out


def _evaluate(problem: StockingProblem, parts: np.ndarray, levels: np.ndarray,
              init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) contributions and (n, L) availabilities of replicated parts at their levels; a
    warm start where ``init`` has a nonzero row."""
    rep = replicate(problem, parts)
    if len(rep.stream_part) == 0:  # parts without demand: nothing on time, nothing in resupply
        return np.zeros((len(parts), problem.n_classes)), (levels > 0).astype(float)
    start = np.where(init.any(axis=1)[:, None], init, (levels > 0).astype(float))
    ev = evaluate_parts(rep, levels, tol=EVAL_TOL, with_fill=False, initial_availability=start)
    return part_contributions(rep, ev), ev.availability


def _map(problem: StockingProblem, jobs: list, cluster: Cluster | None, streams: int) -> list:
    """:func:`_evaluate` over ``jobs``: as tasks on ``cluster`` when there is one, several jobs
    and enough ``streams`` in all to pay for shipping them (the problem goes to the workers
    once, :meth:`~optimizer.stocking.cluster.DaskCluster.share`), else in this process."""
    if cluster is None or cluster.local or len(jobs) < 2 or streams < PARALLEL_STREAMS:
        return [_evaluate(problem, *j) for j in jobs]
    (whole,) = cluster.share(problem, ("whole",), lambda: [problem])
    return cluster.run(_evaluate, [(whole, *j) for j in jobs])

