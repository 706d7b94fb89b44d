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

import numpy as np

from optimizer.stocking.evaluate import Evaluation, evaluate_parts, subproblem
from optimizer.stocking.gains import availability_coefficients, step_gains
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
                     pool: ColumnPool, chunk: int = 4000) -> None:
    """Evaluate vectors ``levels[i]`` for parts ``parts[i]`` (repeats allowed) and add them."""
    from optimizer.stocking.exact import replicate

    for a in range(0, len(parts), chunk):
        pp, lv = parts[a:a + chunk], levels[a:a + chunk]
        rep = replicate(problem, pp)
        ev = evaluate_parts(rep, lv, tol=LOOP_TOL, with_fill=False)
        pool.add(pp, lv, problem.unit_cost[pp], part_contributions(rep, ev))


def marginal_paths(problem: StockingProblem, prices: np.ndarray, pool: ColumnPool, *,
                   stop_ratio: float, start: np.ndarray | None = None,
                   parts: np.ndarray | None = None, lookahead: int = 2,
                   max_rounds: int = 100_000, units_per_round: int = 1,
                   blocked: np.ndarray | None = None, entry_cost: np.ndarray | None = None,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Per-part marginal analysis under class ``prices`` (C,); every vector visited joins ``pool``.

    Each part adds its best 1..``lookahead``-unit step while ``prices . gain / cost`` of that
    step exceeds ``stop_ratio``. ``start`` (P, L) resumes from given levels (default zero
    stock); ``parts`` limits the work to those part indices; ``units_per_round`` > 1 lets a
    part take steps at that many locations per round (fewer rounds, coarser paths); ``blocked``
    (L,) bool marks locations that take no stock (closed in a network design); ``entry_cost``
    (P, L) is added to the cost of a part's first unit at a location (in a network design: the
    price of using a location for that part). Returns the final levels (P, L).
    """
    P, L = problem.n_parts, problem.n_locations
    S = np.zeros((P, L), dtype=np.int64) if start is None else start.astype(np.int64).copy()
    cost = problem.unit_cost
    active = np.arange(P) if parts is None else np.asarray(parts, dtype=np.int64)
    A_warm = np.zeros((P, L))
    has_warm = False
    for rnd in range(max_rounds):
        if active.size == 0:
            break
        sub = subproblem(problem, active)
        ev = evaluate_parts(sub, S[active], tol=LOOP_TOL, with_fill=False,
                            initial_availability=A_warm[active] if has_warm else None)
        A_warm[active] = ev.availability
        has_warm = True
        pool.add(active, S[active], cost[active], part_contributions(sub, ev))
        coef = availability_coefficients(sub, ev)
        Pa = len(active)
        best = np.full((Pa, L), -np.inf)
        best_step = np.ones((Pa, L), dtype=np.int64)
        extra = (0.0 if entry_cost is None
                 else np.where(S[active] == 0, entry_cost[active], 0.0))
        for k in range(1, lookahead + 1):
            value = step_gains(sub, S[active], ev, k, coef) @ prices  # (Pa, L)
            ratio = value / (k * cost[active, None] + extra)
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


_SHARED: dict[str, StockingProblem] = {}
"""The problem a forked pricing worker reads (set before the fork: nothing is pickled)."""


def _paths_worker(args: tuple[np.ndarray, np.ndarray, dict]) -> tuple[np.ndarray, np.ndarray, tuple]:
    parts, prices, kw = args
    problem = _SHARED["problem"]
    local = ColumnPool(problem.n_locations, problem.n_classes)
    S = marginal_paths(problem, prices, local, parts=parts, **kw)
    return parts, S[parts], local.arrays()


def paths(problem: StockingProblem, prices: np.ndarray, pool: ColumnPool, *, workers: int = 1,
          parts: np.ndarray | None = None, start: np.ndarray | None = None,
          **kw: object) -> np.ndarray:
    """:func:`marginal_paths` over ``workers`` forked processes, each pricing every
    ``workers``-th part (parts are independent, so the levels are the same as one process
    gives); their columns join ``pool`` part block by part block. ``workers`` 1, or a platform
    without ``fork``, runs in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    P, L = problem.n_parts, problem.n_locations
    active = np.arange(P) if parts is None else np.asarray(parts, dtype=np.int64)
    if workers <= 1 or active.size < 2 * workers or \
            "fork" not in multiprocessing.get_all_start_methods():
        return marginal_paths(problem, prices, pool, parts=parts, start=start, **kw)
    S = np.zeros((P, L), dtype=np.int64) if start is None else start.astype(np.int64).copy()
    chunks = [active[w::workers] for w in range(workers)]
    _SHARED["problem"] = problem
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as ex:
            done = list(ex.map(_paths_worker, [(c, prices, {**kw, "start": S}) for c in chunks]))
    finally:
        _SHARED.pop("problem", None)
    for chunk, levels, (part, lv, _cost, ontime) in done:
        S[chunk] = levels
        pool.add(part, lv, problem.unit_cost[part], ontime)
    return S
