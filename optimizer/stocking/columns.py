"""Candidate stock vectors per part ("columns") and the per-part marginal analysis that makes them.

Parts are independent given their own levels, and a class's on-time demand is a sum over parts,
so a plan is one stock vector per part. :class:`ColumnPool` keeps candidate vectors with their
exact on-time demand per class (from the evaluation model); :func:`marginal_paths` is the
per-part pricing step of a Lagrangian / column-generation scheme: for class prices ``u``
(currency per unit of on-time demand per year) every part, independently, adds the unit of
best ``u . gain / cost`` (1- and 2-unit steps, to see past the S-shape of availability) while
that ratio exceeds ``stop_ratio``, and every vector on the way becomes a column. All parts run
in lockstep, one vectorised evaluation of the still-active parts per round (a map over parts
with shared read-only inputs), warm-started from the previous round's availabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import time as wall_clock

import numpy as np

from optimizer.stocking.bounds import LevelBounds
from optimizer.stocking.chunks import chunk_inputs, resolve
from optimizer.stocking.cluster import Cluster, workers_of
from optimizer.stocking.evaluate import Evaluation, evaluate_parts, replicate, subproblem
from optimizer.stocking.gains import availability_coefficients, step_gains
from optimizer.stocking.params import SolveParams
from optimizer.stocking.problem import StockingProblem

LOOP_TOL = 1e-9
"""Fixed-point tolerance of the column evaluations (availabilities)."""


def part_contributions(problem: StockingProblem, ev: Evaluation) -> np.ndarray:
    """(P, C) on-time in-service demand per year of each part in each class."""
    P, C = problem.n_parts, problem.n_classes
    w = np.where(problem.stream_in_service, problem.stream_rate_per_year * ev.stream_on_time, 0.0)
    return np.bincount(problem.stream_part * C + problem.stream_class, weights=w,
                       minlength=P * C).reshape(P, C)


@dataclass
class ColumnPool:
    """Candidate vectors: ``part`` (M,), ``levels`` (M, L), ``cost`` (M,), ``ontime`` (M, C)."""

    n_locations: int
    n_classes: int
    _part: list[np.ndarray] = field(default_factory=list)
    _levels: list[np.ndarray] = field(default_factory=list)
    _cost: list[np.ndarray] = field(default_factory=list)
    _ontime: list[np.ndarray] = field(default_factory=list)
    _seen: dict[bytes, int] = field(default_factory=dict)
    _cache: tuple | None = None

    def add(self, parts: np.ndarray, levels: np.ndarray, unit_cost: np.ndarray,
            ontime: np.ndarray) -> int:
        """Add vectors ``levels[i]`` of parts ``parts[i]`` (duplicates skipped); returns how many."""
        keep = []
        for i in range(len(parts)):
            key = self._key(parts[i], levels[i])
            if key not in self._seen:
                self._seen[key] = len(self._seen)
                keep.append(i)
        if keep:
            k = np.array(keep)
            self._part.append(np.asarray(parts)[k].astype(np.int64))
            self._levels.append(levels[k].astype(np.int64))
            self._cost.append(unit_cost[k] * levels[k].sum(axis=1))
            self._ontime.append(ontime[k])
            self._cache = None
        return len(keep)

    @staticmethod
    def _key(part: int, levels: np.ndarray) -> bytes:
        return np.int64(part).tobytes() + np.asarray(levels).astype(np.int64).tobytes()

    def index(self, parts: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """Column index of each vector ``levels[i]`` of part ``parts[i]`` (-1 if not in the pool)."""
        return np.array([self._seen.get(self._key(p, v), -1) for p, v in zip(parts, levels,
                                                                                strict=True)],
                        dtype=np.int64)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(part, levels, cost, ontime)`` of every column, concatenated."""
        if self._cache is None:
            if not self._part:
                self._cache = (np.zeros(0, np.int64), np.zeros((0, self.n_locations), np.int64),
                               np.zeros(0), np.zeros((0, self.n_classes)))
            else:
                self._cache = (np.concatenate(self._part), np.concatenate(self._levels),
                               np.concatenate(self._cost), np.concatenate(self._ontime))
        return self._cache

    def __len__(self) -> int:
        return len(self._seen)


def evaluate_columns(problem: StockingProblem, parts: np.ndarray, levels: np.ndarray,
                     pool: ColumnPool, chunk: int = 4000, *, cluster: Cluster | None = None,
                     chunk_parts: int | None = None) -> None:
    """Evaluate vectors ``levels[i]`` for parts ``parts[i]`` (repeats allowed) and add them.

    The vectors are grouped by chunk of ``chunk_parts`` parts (default: the
    :class:`~optimizer.stocking.params.SolveParams` chunk), each group a task on ``cluster``
    (None: here) evaluating ``chunk`` vectors at a time; columns join ``pool`` group by group.
    """
    parts = np.asarray(parts, dtype=np.int64)
    levels = np.asarray(levels, dtype=np.int64)
    if parts.size == 0:
        return
    n = chunk_parts or SolveParams().chunk_parts(problem.n_locations, problem.n_parts)
    chunks, handles = chunk_inputs(problem, n, cluster)
    which = parts // n
    tasks, groups = [], []
    for i in np.unique(which):
        sel = np.nonzero(which == i)[0]
        c = chunks[int(i)]
        tasks.append((handles[int(i)], parts[sel] - c.lo, levels[sel], chunk))
        groups.append(sel)
    for sel, ontime in zip(groups, workers_of(cluster).run(_columns_task, tasks), strict=True):
        pool.add(parts[sel], levels[sel], problem.unit_cost[parts[sel]], ontime)


def _columns_task(handle: object, parts: np.ndarray, levels: np.ndarray, chunk: int) -> np.ndarray:
    """(n, C) on-time demand per class of chunk-local parts ``parts`` at ``levels``."""
    sub = resolve(handle)
    out = []
    for a in range(0, len(parts), chunk):
        rep = replicate(sub, parts[a:a + chunk])
        ev = evaluate_parts(rep, levels[a:a + chunk], tol=LOOP_TOL, with_fill=False)
        out.append(part_contributions(rep, ev))
    return np.concatenate(out) if out else np.zeros((0, sub.n_classes))


def marginal_paths(problem: StockingProblem, prices: np.ndarray, pool: ColumnPool, *,
                   stop_ratio: float, start: np.ndarray | None = None,
                   parts: np.ndarray | None = None, lookahead: int = 2,
                   max_rounds: int = 100_000, units_per_round: int = 1,
                   blocked: np.ndarray | None = None, entry_cost: np.ndarray | None = None,
                   surcharge: np.ndarray | None = None, bounds: LevelBounds | None = None,
                   progress: Callable[[int], None] | None = None,
                   stop_at: float | None = None) -> np.ndarray:
    """Per-part marginal analysis under class ``prices`` (C,); every vector visited joins ``pool``.

    Each part adds its best 1..``lookahead``-unit step while ``prices . gain / cost`` of that
    step exceeds ``stop_ratio``. ``start`` (P, L) resumes from given levels (default zero
    stock); ``parts`` limits the work to those part indices; ``units_per_round`` > 1 lets a
    part take steps at that many locations per round (fewer rounds, coarser paths); ``blocked``
    (L,) bool marks locations that take no stock (closed in a network design); ``entry_cost``
    (P, L) is added to the cost of a part's first unit at a location (in a network design: the
    price of using a location for that part); ``surcharge`` (P, L) is added to the cost of every
    unit (the price of a location's capacity, from the master's capacity rows); ``bounds``
    (planner minimums / maximums) raise the start to the minimums and stop steps above the
    maximums. ``stop_at``: a wall-clock instant (``time.time()``, so it holds on any worker of
    a cluster) past which no further round starts; the paths end where they got to (their
    vectors so far are in ``pool``). Returns the final levels (P, L).
    """
    P, L = problem.n_parts, problem.n_locations
    S = np.zeros((P, L), dtype=np.int64) if start is None else start.astype(np.int64).copy()
    if bounds is not None:
        S = bounds.start(S)
    cost = problem.unit_cost
    active = np.arange(P) if parts is None else np.asarray(parts, dtype=np.int64)
    A_warm = np.zeros((P, L))
    has_warm = False
    sub = None
    for rnd in range(max_rounds):
        if active.size == 0 or (stop_at is not None and wall_clock() >= stop_at):
            break
        if sub is None or sub.n_parts != len(active):  # active parts only ever drop out
            sub = subproblem(problem, active)
        ev = evaluate_parts(sub, S[active], tol=LOOP_TOL, with_fill=False,
                            initial_availability=A_warm[active] if has_warm else None)
        A_warm[active] = ev.availability
        has_warm = True
        pool.add(active, S[active], cost[active], part_contributions(sub, ev))
        coef = availability_coefficients(sub, ev, prices)  # (Pa, L, 1): valued
        Pa = len(active)
        best = np.full((Pa, L), -np.inf)
        best_step = np.ones((Pa, L), dtype=np.int64)
        extra = (0.0 if entry_cost is None
                 else np.where(S[active] == 0, entry_cost[active], 0.0))
        unit = cost[active, None] + (0.0 if surcharge is None else surcharge[active])
        for k in range(1, lookahead + 1):
            value = step_gains(sub, S[active], ev, k, coef)[:, :, 0]  # (Pa, L)
            ratio = value / (k * unit + extra)
            if bounds is not None:
                ratio = np.where(S[active] + k <= bounds.upper[active], ratio, -np.inf)
            better = ratio > best + 1e-12
            best = np.where(better, ratio, best)
            best_step = np.where(better, k, best_step)
        if blocked is not None:
            best[:, blocked] = -np.inf
        m = min(units_per_round, L)
        top = np.argsort(-best, axis=1, kind="stable")[:, :m]  # (Pa, m) best locations first
        r = np.take_along_axis(best, top, axis=1)
        take = r > stop_ratio
        rows = np.broadcast_to(np.arange(Pa)[:, None], top.shape)[take]
        cols = top[take]
        S[active[rows], cols] += best_step[rows, cols]
        active = active[take[:, 0]]
        if progress is not None:
            progress(rnd)
    return S


PER_PART = ("entry_cost", "surcharge")
"""Keyword arguments of :func:`marginal_paths` that are (P, L) arrays, cut per chunk."""


def _paths_task(handle: object, parts: np.ndarray, start: np.ndarray, prices: np.ndarray,
                kw: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    """:func:`marginal_paths` of chunk-local ``parts`` from ``start``: their final levels and the
    chunk's columns ``(part, levels, cost, ontime)``."""
    sub = resolve(handle)
    local = ColumnPool(sub.n_locations, sub.n_classes)
    S = marginal_paths(sub, prices, local, parts=parts, start=start, **kw)
    return parts, S[parts], local.arrays()


def paths(problem: StockingProblem, prices: np.ndarray, pool: ColumnPool, *,
          cluster: Cluster | None = None, chunk_parts: int | None = None,
          parts: np.ndarray | None = None, start: np.ndarray | None = None,
          **kw: object) -> np.ndarray:
    """:func:`marginal_paths` chunk by chunk of ``chunk_parts`` parts (default: the
    :class:`~optimizer.stocking.params.SolveParams` chunk), each chunk a task on ``cluster``
    (None: in this process, one chunk after another, so peak memory follows the chunk, not the
    problem). Parts are independent, so chunking changes no path; the columns join ``pool``
    chunk by chunk in part order, the same wherever the chunks ran. Returns the levels (P, L)."""
    P, L = problem.n_parts, problem.n_locations
    S = np.zeros((P, L), dtype=np.int64) if start is None else start.astype(np.int64).copy()
    active = np.arange(P) if parts is None else np.asarray(parts, dtype=np.int64)
    kw.pop("progress", None)  # per-round callbacks cannot follow the chunks to the workers
    n = chunk_parts or SolveParams().chunk_parts(L, P)
    chunks, handles = chunk_inputs(problem, n, cluster)
    tasks, used = [], []
    for c, h in zip(chunks, handles, strict=True):
        sel = active[(active >= c.lo) & (active < c.hi)] - c.lo
        if sel.size == 0:
            continue
        ckw = dict(kw)
        for name in PER_PART:
            if ckw.get(name) is not None:
                ckw[name] = np.asarray(ckw[name])[c.lo:c.hi]
        if ckw.get("bounds") is not None:
            b = ckw["bounds"]
            ckw["bounds"] = LevelBounds(b.lower[c.lo:c.hi], b.upper[c.lo:c.hi])
        tasks.append((h, sel, S[c.lo:c.hi], prices, ckw))
        used.append(c)
    for c, (sel, levels, (part, lv, _cost, ontime)) in zip(
            used, workers_of(cluster).run(_paths_task, tasks), strict=True):
        S[c.lo + sel] = levels
        pool.add(part + c.lo, lv, problem.unit_cost[part + c.lo], ontime)
    return S
