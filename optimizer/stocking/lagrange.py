"""Lagrangian decomposition (column generation) solver for production scale.

Parts are independent given their own levels and the class constraints are sums over parts, so
the problem is a multiple-choice knapsack over per-part stock vectors (see
:mod:`optimizer.stocking.master`). With class prices ``u`` the Lagrangian splits into one
problem per part, ``min cost . S - u . ontime_p(S)``, solved approximately by per-part marginal
analysis (:func:`optimizer.stocking.columns.marginal_paths`), whose visited vectors become
columns. Steps (targets mode):

1. **Start**: prices ``1 / D_c`` (every class's share alike), per-part paths down to a ratio
   threshold (the union of the paths at a threshold is the classic system-approach greedy).
2. **Price**: the LP master (with big-M slacks, so it is always feasible) gives class duals,
   the Lagrange multipliers; a short class is priced at its penalty. Per-part paths under
   them (down to half the break-even ratio) add the columns those prices favour; repeated
   until the pool meets the targets, then ``rounds`` more times.
3. **Choose**: the MIP master (HiGHS) picks one column per part.
4. **Neighbourhood**: every part's chosen vector +-1 unit at every location (and, for small
   instances, 1-for-1 moves between locations) is evaluated exactly and added; the MIP is
   re-solved while it improves.

The LP value is a lower bound on the cost of any plan made of pool columns (not a bound on the
true optimum: the pool is not every vector). Budget mode maximises the overall on-time demand
under the budget with the same pool machinery (prices: every class alike).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from optimizer.stocking.bounds import LevelBounds
from optimizer.stocking.chunks import chunk_inputs, evaluate_levels, resolve
from optimizer.stocking.cluster import Cluster, workers_of
from optimizer.stocking.columns import ColumnPool, evaluate_columns, paths
from optimizer.stocking.evaluate import Evaluation, evaluate_parts
from optimizer.stocking.incumbent import lp_incumbent
from optimizer.stocking.master import ROW_SLACK, TARGET_MARGIN, MasterResult, solve_master
from optimizer.stocking.params import SolveParams
from optimizer.stocking.problem import StockingProblem
from optimizer.stocking.repair import repair_levels

Progress = Callable[[float], None]
BIG_M = SolveParams.big_m
"""Phase-1 penalty per class (the default of :attr:`SolveParams.big_m
<optimizer.stocking.params.SolveParams>`; the network design's master uses it too)."""
MIP_GAP = 1e-4
"""Relative gap at which the master MIP stops: 0.01 % of the investment (2,400 CNY on
cn-telecom). On the 5,000-part benchmark 1e-6 ran into the 20 s time limit (66.73 M CNY) while
1e-4 proved 66.73 M within 0.008 % of the pool LP in 11 s."""
TIME_LIMIT = "Time limit reached"
"""HiGHS's model status when a run stops at its time limit."""
FIRST_PLAN_PROGRESS = 0.01
"""A deadline that waits for a first plan waits while each pricing round cuts the pool's summed
class shortfall (shares) by at least this fraction."""
FIRST_PLAN_MIP_S = 60.0
"""Seconds the first master MIP gets past a deadline that waits for a first plan when it has no
first incumbent (with location caps no plan is rounded from the LP)."""
CAP_ROUNDS = 8
"""Extra pricing rounds allowed, on a problem with location caps, while the pool LP improves by
:data:`SETTLE`."""
SEED_REPAIR_UNITS = 50
"""Most units added to an initial plan to meet the targets (it is for plans a hair short, e.g. a
network design's levels on the network's own reach; a plan far short only lends its vectors)."""
SETTLE = 1e-3
"""After an initial plan, or on a problem with location caps, pricing rounds go on past
``rounds`` while each lowers the pool LP by at least this share: later rounds cost a pricing
pass each for hundredths of a percent."""
SURCHARGE_SCALES = (0.5, 1.0, 2.0)
"""A round with binding caps prices the parts at these multiples of the capacity prices (the
LP's prices of a full location are one point of a range; paths at several give the master
vectors that fit the caps in more than one way), up to SCALED_PAIRS (part, location) pairs."""
SCALED_PAIRS = 20_000
"""Above this many (part, location) pairs a round prices at the capacity prices only (each scale
is a full pricing pass)."""


def surcharge_scales(pairs: int) -> tuple[float, ...]:
    """The multiples of the capacity prices a pricing round uses on a problem of ``pairs``."""
    return SURCHARGE_SCALES if pairs <= SCALED_PAIRS else (1.0,)


@dataclass
class LagrangeResult:
    """Levels (P, L), their evaluation, the pool LP bound (targets mode), the pool size, notes."""

    levels: np.ndarray
    evaluation: Evaluation
    lp_bound: float | None
    columns: int
    feasible: bool
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    """Pricing rounds run after the start pass."""
    cut_short: bool = False
    """The deadline stopped a pricing pass, skipped a round or limited a master problem."""


def _neighbours(S: np.ndarray, swaps: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(parts, vectors)``: every part's vector +-1 at each location (and 1-for-1 moves)."""
    P, L = S.shape
    eye = np.eye(L, dtype=np.int64)
    moves = [eye, -eye]
    if swaps:
        a, b = np.nonzero(~np.eye(L, dtype=bool))
        moves.append(eye[b] - eye[a])
    D = np.concatenate(moves)  # (Q, L)
    cand = S[:, None, :] + D[None, :, :]
    ok = np.all(cand >= 0, axis=2)
    parts = np.broadcast_to(np.arange(P)[:, None], ok.shape)[ok]
    return parts, cand[ok]


def plan_levels(problem: StockingProblem, targets: np.ndarray | None = None, *,
                budget: float | None = None, rounds: int = 1, neighbourhood: int | None = None,
                swap_limit: int = 20_000, time_limit_s: float = 20.0, mip_gap: float = MIP_GAP,
                progress: Progress | None = None, cluster: Cluster | None = None,
                bounds: LevelBounds | None = None, params: SolveParams | None = None,
                deadline: float | None = None, first_plan: bool = False,
                initial: np.ndarray | None = None) -> LagrangeResult:
    """Base-stock levels meeting ``targets`` (C,) at low investment, or the best under ``budget``.

    ``targets`` default to the problem's class targets (NaN: unconstrained); pass the
    ceiling-capped targets of :func:`optimizer.stocking.targets.effective_targets` for classes
    no stock can reach. ``rounds`` pricing rounds follow the start; ``neighbourhood`` rounds of
    local columns (default: 3 while ``P x L <= 5,000``, else 0: at scale each round
    evaluates ``2 L`` vectors per part for little gain); 1-for-1 moves join the neighbourhood
    while ``P x L^2 <= swap_limit``. Each master MIP stops at relative gap ``mip_gap`` or
    after ``time_limit_s``, or at ``deadline`` (a ``time.perf_counter()`` instant; every master
    problem gets the time left, at least ``params.min_mip_s``). Past the deadline no pricing or
    neighbourhood round starts and a pricing pass under way stops between path rounds in every
    chunk (on a cluster too); if the pool does not meet the targets by then, the path levels come
    back flagged infeasible. Cheap enough to call from other code (restock runs). The per-part
    work (pricing paths, column and plan evaluations) runs in chunks on ``cluster`` (None: in
    this process; :mod:`optimizer.stocking.chunks`); ``params``: the other knobs
    (:class:`~optimizer.stocking.params.SolveParams`).
    ``bounds``: planner minimums / maximums every column, and so the plan, keeps to.
    ``initial`` (P, L): a plan known beforehand (last quarter's, a network design's levels on
    this network), kept within ``bounds``. Its vectors join the pool; in targets mode it is first
    topped up where this problem finds it short (:func:`optimizer.stocking.repair.repair_levels`)
    and, when it then meets the targets within the locations' capacities, the start pass and
    phase 1 are skipped (the pool already meets the targets: the pricing rounds improve on it)
    and it is the master MIP's first incumbent, so the plan never costs more than it.
    """
    t0 = time.perf_counter()
    say = progress or (lambda f: None)
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    prm = params or SolveParams()
    chunk = prm.chunk_parts(L, P)
    work = {"cluster": cluster, "chunk_parts": chunk}

    # the deadline as a wall-clock instant, which the chunks check on any worker
    stop_at = None if deadline is None else time.time() + (deadline - time.perf_counter())
    cut = [False]
    waiting = [first_plan and budget is None]  # the deadline waits for a pool meeting targets

    def priced() -> dict:
        return {**work, "stop_at": None if waiting[0] else stop_at}

    def master(*args: object, at_least: float = 0.0, **kw: object) -> MasterResult:
        """:func:`solve_master` within ``time_limit_s`` and the time left (at least
        ``min_mip_s``, or ``at_least``); notes when the deadline is what stopped it."""
        limit = time_limit_s
        if deadline is not None and not waiting[0]:
            limit = min(time_limit_s,
                        max(deadline - time.perf_counter(), prm.min_mip_s, at_least))
        res = solve_master(*args, time_limit_s=limit, **kw)
        if limit < time_limit_s and res.status == TIME_LIMIT:
            cut[0] = True
        return res

    def late() -> bool:
        if deadline is not None and not waiting[0] and time.perf_counter() >= deadline:
            cut[0] = True
            return True
        return False

    tg = problem.class_target if targets is None else np.asarray(targets, dtype=float)
    D = problem.class_demand_per_year
    cost = problem.unit_cost
    pool = ColumnPool(L, C)
    notes: list[str] = []
    timings: dict[str, float] = {}
    zero = np.zeros((P, L), dtype=np.int64)
    if bounds is not None:
        zero = bounds.start(zero)  # the least each part may hold
    evaluate_columns(problem, np.arange(P), zero, pool, **work)  # every part may hold nothing
    if budget is None:
        con = ~np.isnan(tg) & (D > 0)
        prices0 = np.where(con, 1.0 / np.where(D > 0, D, 1.0), 0.0)
    else:
        con = np.zeros(C, dtype=bool)
        prices0 = np.where(D > 0, 1.0, 0.0)
    if budget is None and not con.any():
        ev = evaluate_parts(problem, zero)
        return LagrangeResult(zero, ev, 0.0, len(pool), True, notes, timings)
    seeded = None
    if initial is not None:
        seeded, S_seed = _seed(problem, initial, tg if budget is None else None, pool, bounds,
                               notes, **work)
        timings["initial plan"] = time.perf_counter() - t0

    # 1. start: paths under prices0 down to a first threshold (not needed after a seed).
    per_round = prm.per_round(P * L)
    if seeded is not None:
        ratio, S_path = 1.0, S_seed
    elif late():  # the time went on the empty columns: no path starts
        ratio, S_path = 1.0, zero
    else:
        ratio = _first_ratio(problem, prices0, **work) * 1e-3
        S_path = paths(problem, prices0, pool, stop_ratio=ratio, units_per_round=per_round,
                       **priced(), bounds=bounds)
        late()  # notes whether the deadline cut the start pass
    timings["start"] = time.perf_counter() - t0
    say(0.2)
    lp = None
    if budget is None:
        # 2. pricing rounds: big-M phase 1 (short classes priced at their penalty) until the
        # pool meets the targets, then the LP duals as Lagrange multipliers.
        penalty = np.where(con, prm.big_m * float(cost.sum()) / np.where(D > 0, D, 1.0), 0.0)
        lp = master(pool, problem, tg, integer=False, penalty=penalty)
        extra = 0
        n_rounds_done = 0
        capped = bool(np.any(problem.capped))
        last = np.inf
        gap_before = np.inf
        for r in range(prm.max_phase1 + rounds + (CAP_ROUNDS if capped else 0)):
            t = time.perf_counter()
            short = bool(np.any(lp.shortfall > 1e-9 * np.maximum(D, 1e-12)))
            # the deadline waits for a first plan only while the rounds bring it closer (with
            # capacities the pool may never meet the targets)
            gap_now = float(np.sum(lp.shortfall / np.where(D > 0, D, 1.0)))
            waiting[0] = waiting[0] and short and gap_now < gap_before * (1 - FIRST_PLAN_PROGRESS)
            gap_before = gap_now
            if late():
                break
            if not short:
                # with capacities, the prices of full locations take rounds to settle, and after
                # an initial plan there were no phase-1 columns: go on while the pool's LP falls
                settling = ((capped or seeded is not None)
                            and lp.objective < last * (1 - SETTLE))
                if extra >= rounds and not settling:
                    break
                extra += 1
                last = lp.objective
            u = lp.prices
            if not np.any(u > 0):
                break
            sur = lp.surcharge(cost)
            for scale in (1.0,) if sur is None else surcharge_scales(P * L):
                paths(problem, u, pool, stop_ratio=0.5, units_per_round=per_round,
                      **priced(), surcharge=None if sur is None else scale * sur,
                      bounds=bounds)
            lp = master(pool, problem, tg, integer=False, penalty=penalty)
            n_rounds_done += 1
            timings[f"pricing{r + 1}"] = time.perf_counter() - t
            say(min(0.7, 0.2 + 0.1 * (r + 1)))
        short = lp.shortfall > 1e-9 * np.maximum(D, 1e-12)
        waiting[0] = waiting[0] and bool(np.any(short))
        late()
        if np.any(short) and cut[0]:
            notes.append("stopped by the runtime limit (MaxRuntime) before the generated columns "
                         "met the targets: the path levels so far, short of them")
            return _finish(problem, S_path, None, pool, False, notes, timings, **work,
                           rounds=n_rounds_done, cut_short=True)
        if np.any(short) and not np.any(problem.capped):
            notes.append("the targets cannot be met by the generated columns "
                         "(too strict for the model)")
            return _finish(problem, S_path, None, pool, False, notes, timings, **work,
                           rounds=n_rounds_done)
        for c in np.nonzero(short)[0]:
            # within the locations' capacities the pool reaches less: aim at that and say so
            reached = max(tg[c] - lp.shortfall[c] / D[c] - 1e-4, 0.0)
            notes.append(f"{problem.class_label(c)}: within the locations' capacities the plans "
                         f"found reach at most {reached + 1e-4:.2%} against {tg[c]:.2%}; aiming "
                         f"at {reached:.2%}")
            tg = tg.copy()
            tg[c] = reached
    else:
        n_rounds_done = 0
        S_path = _deepen(problem, prices0, pool, S_path, ratio, budget, per_round, bounds=bounds,
                         **priced())
        late()

    # 3-4. MIP, then neighbourhood columns while they help.
    t = time.perf_counter()
    start = seeded
    if start is None and budget is None and lp is not None and not np.any(problem.capped):
        # a first incumbent rounded from the pool LP: the MIP has a plan whatever its time
        need = np.where(con, (tg + TARGET_MARGIN) * D + ROW_SLACK, np.nan)
        start = lp_incumbent(pool, lp.x, P, D, need)
    # a deadline that waits for a first plan gives a MIP without a first incumbent (location
    # caps) the time to find one
    mip = master(pool, problem, tg if budget is None else None, budget=budget, mip_gap=mip_gap,
                 start=start, at_least=FIRST_PLAN_MIP_S if first_plan and start is None else 0.0)
    if (mip.choice is None or np.any(mip.choice < 0)) and start is not None:
        notes.append(f"master MIP: {mip.status} without a plan of its own; its first incumbent "
                     "(the initial plan, or the one rounded from the pool LP) is kept")
        mip = replace(mip, choice=start, objective=float(pool.arrays()[2][start].sum()))
    if (mip.choice is None or np.any(mip.choice < 0)) and budget is None and np.any(problem.capped):
        # the path levels may overrun a cap: the MIP with the phase-1 slacks (always feasible)
        notes.append(f"master MIP: {mip.status}; solved again with every class allowed short")
        mip = master(pool, problem, tg, penalty=penalty, mip_gap=mip_gap)
    if mip.choice is None or np.any(mip.choice < 0):
        notes.append(f"master MIP: {mip.status}; falling back to the path levels")
        return _finish(problem, S_path, lp.objective if lp else None, pool, budget is not None,
                       notes, timings, **work, rounds=n_rounds_done, cut_short=cut[0])
    _, levels, _, _ = pool.arrays()
    S = levels[mip.choice]
    timings["mip"] = time.perf_counter() - t
    n_rounds = neighbourhood if neighbourhood is not None else prm.neighbourhood_rounds(P * L)
    for k in range(n_rounds):
        if late():
            break
        t = time.perf_counter()
        parts, vecs = _neighbours(S, swaps=swap_limit >= P * L * L)
        if bounds is not None:
            keep = bounds.allows(parts, vecs)
            parts, vecs = parts[keep], vecs[keep]
        before = len(pool)
        evaluate_columns(problem, parts, vecs, pool, **work)
        if len(pool) == before:
            break
        mip2 = master(pool, problem, tg if budget is None else None, budget=budget,
                      mip_gap=mip_gap, start=mip.choice)
        timings[f"neighbourhood{k + 1}"] = time.perf_counter() - t
        say(0.7 + 0.3 * (k + 1) / n_rounds)
        if mip2.choice is None or np.any(mip2.choice < 0):
            break
        better = (mip2.objective < mip.objective - 1e-9 if budget is None
                  else mip2.objective > mip.objective + 1e-12)
        mip = mip2 if better or mip2.objective == mip.objective else mip
        S = pool.arrays()[1][mip.choice]
        if not better:
            break
    bound = None
    if budget is None:
        lpf = master(pool, problem, tg, integer=False)
        bound = lpf.objective if np.isfinite(lpf.objective) else None
    return _finish(problem, S, bound, pool, True, notes, timings, **work, rounds=n_rounds_done,
                   cut_short=cut[0])


def _seed(problem: StockingProblem, initial: np.ndarray, targets: np.ndarray | None,
          pool: ColumnPool, bounds: LevelBounds | None, notes: list[str], *,
          cluster: Cluster | None = None, chunk_parts: int | None = None
          ) -> tuple[np.ndarray | None, np.ndarray]:
    """``(pool indices or None, levels)``: ``initial`` within ``bounds`` joins ``pool``; with
    ``targets``, topped up to meet them; the indices are None unless the plan meets them within
    the locations' capacities (then it can start the master)."""
    P, L = problem.n_parts, problem.n_locations
    S = np.asarray(initial, dtype=np.int64)
    if S.shape != (P, L):
        raise ValueError(f"initial levels have shape {S.shape}, the problem ({P}, {L})")
    if np.any(S < 0):
        raise ValueError("initial levels must be >= 0")
    if bounds is not None:
        S = np.clip(S, bounds.lower, bounds.upper)
    if targets is None:
        evaluate_columns(problem, np.arange(P), S, pool, cluster=cluster, chunk_parts=chunk_parts)
        return None, S
    S, met = repair_levels(problem, S, targets, np.ones(L, dtype=bool), pool=pool,
                           max_units=SEED_REPAIR_UNITS,
                           upper=None if bounds is None else bounds.upper)
    within = bool(np.all(S.sum(axis=0) <= problem.cap_units)
                  and np.all(problem.unit_cost @ S <= problem.cap_value + 1e-6))
    if not met or not within:
        notes.append("the initial plan misses the targets even topped up" if not met else
                     "the initial plan, topped up to the targets, overruns a location's capacity")
        return None, S
    return pool.index(np.arange(P), S), S


def _deepen(problem: StockingProblem, prices: np.ndarray, pool: ColumnPool, S_path: np.ndarray,
            ratio: float, budget: float, per_round: int, *, cluster: Cluster | None = None,
            chunk_parts: int | None = None, bounds: LevelBounds | None = None,
            stop_at: float | None = None) -> np.ndarray:
    """Continue the paths (stopping ratio / 10 each time) until they can spend ``budget``, or
    until the wall-clock instant ``stop_at`` (``time.time()``)."""
    cost = problem.unit_cost
    while float(cost @ S_path.sum(axis=1)) < budget and ratio > 1e-12:
        if stop_at is not None and time.time() >= stop_at:
            break
        ratio /= 10
        S_path = paths(problem, prices, pool, stop_ratio=ratio, start=S_path,
                       units_per_round=per_round, cluster=cluster, chunk_parts=chunk_parts,
                       bounds=bounds, stop_at=stop_at)
    return S_path


@dataclass(frozen=True)
class BudgetPoint:
    """One budget of a frontier sweep: the budget and the chosen plan's investment (currency),
    on-time demand per year (model, summed over the chosen columns), units and levels (P, L)."""

    budget: float
    investment: float
    on_time_demand: float
    units: int
    levels: np.ndarray


def budget_sweep(problem: StockingProblem, budgets: np.ndarray, *,
                 extra_levels: tuple[np.ndarray, ...] = (), time_limit_s: float = 10.0,
                 mip_gap: float = 1e-4, progress: Progress | None = None,
                 cluster: Cluster | None = None,
                 params: SolveParams | None = None) -> list[BudgetPoint]:
    """The best plan (overall on-time demand) under each of ``budgets``, from one column pool.

    The pool is grown once, as in budget mode (every part's marginal-analysis path under equal
    class prices, deepened until it can spend the largest budget), plus the vectors of
    ``extra_levels`` (e.g. the targets plan, so the sweep sees it); then the budget MIP is
    solved over that pool for each budget. Points share their columns, so a sweep costs about
    one budget solve plus one MIP per point. Each MIP stops within ``mip_gap`` (relative) of
    its optimum, so the on-time demand may dip by that much from one budget to a larger one.
    The per-part work runs on ``cluster`` as in :func:`plan_levels`.
    """
    say = progress or (lambda f: None)
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    prm = params or SolveParams()
    work = {"cluster": cluster, "chunk_parts": prm.chunk_parts(L, P)}
    D = problem.class_demand_per_year
    pool = ColumnPool(L, C)
    evaluate_columns(problem, np.arange(P), np.zeros((P, L), dtype=np.int64), pool, **work)
    for lv in extra_levels:
        evaluate_columns(problem, np.arange(P), np.asarray(lv, dtype=np.int64), pool, **work)
    prices = np.where(D > 0, 1.0, 0.0)
    per_round = prm.per_round(P * L)
    ratio = _first_ratio(problem, prices, **work) * 1e-3
    S_path = paths(problem, prices, pool, stop_ratio=ratio, units_per_round=per_round, **work)
    S_path = _deepen(problem, prices, pool, S_path, ratio, float(np.max(budgets, initial=0.0)),
                     per_round, **work)
    say(0.5)
    out = []
    _, levels, cost, ontime = pool.arrays()
    for i, b in enumerate(budgets):
        mip = solve_master(pool, problem, None, budget=float(b), time_limit_s=time_limit_s,
                           mip_gap=mip_gap)
        if mip.choice is not None and np.all(mip.choice >= 0):
            ch = mip.choice
            out.append(BudgetPoint(float(b), float(cost[ch].sum()), float(ontime[ch].sum()),
                                   int(levels[ch].sum()), levels[ch]))
        say(0.5 + 0.5 * (i + 1) / len(budgets))
    return out


def _finish(problem: StockingProblem, S: np.ndarray, bound: float | None, pool: ColumnPool,
            feasible: bool, notes: list[str], timings: dict[str, float], *,
            cluster: Cluster | None = None, chunk_parts: int | None = None, rounds: int = 0,
            cut_short: bool = False) -> LagrangeResult:
    t = time.perf_counter()
    n = chunk_parts or SolveParams().chunk_parts(problem.n_locations, problem.n_parts)
    ev = evaluate_levels(problem, S, cluster=cluster, chunk_parts=n)
    timings["final evaluation"] = time.perf_counter() - t
    return LagrangeResult(S, ev, bound, len(pool), feasible, notes, timings, rounds, cut_short)


def _first_ratio(problem: StockingProblem, prices: np.ndarray, *, cluster: Cluster | None = None,
                 chunk_parts: int | None = None) -> float:
    """Largest ``prices . gain / cost`` of a first unit anywhere (the scale of the thresholds),
    chunk by chunk of parts on ``cluster`` (None: here)."""
    n = chunk_parts or SolveParams().chunk_parts(problem.n_locations, problem.n_parts)
    _, handles = chunk_inputs(problem, n, cluster)
    best = max(workers_of(cluster).run(_first_ratio_task, [(h, prices) for h in handles]),
               default=0.0)
    return best if best > 0 else 1.0


def _first_ratio_task(handle: object, prices: np.ndarray) -> float:
    from optimizer.stocking.gains import availability_coefficients, step_gains

    problem = resolve(handle)
    zero = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    ev = evaluate_parts(problem, zero, with_fill=False)
    coef = availability_coefficients(problem, ev)
    best = 0.0
    for k in (1, 2):
        value = step_gains(problem, zero, ev, k, coef) @ prices / (k * problem.unit_cost[:, None])
        best = max(best, float(value.max(initial=0.0)))
    return best
