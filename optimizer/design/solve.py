"""Integrated network design: open locations and all base-stock levels chosen together.

Column generation as in :mod:`optimizer.stocking.lagrange`, with the location decisions in the
master (:mod:`optimizer.design.master`):

1. **Start**: per-part marginal-analysis paths under equal class prices with every location
   allowed, over the existing network only, and over the locate-then-stock design, so the pool
   holds plans for each.
2. **Price**: the LP master (locations fractional, big-M class slacks) gives class prices; paths
   under them with every allowed location, until the pool meets the targets, then ``rounds`` more.
3. **Choose**: the MIP master picks one vector per part and the open locations together.
4. **Refine**: paths restricted to the chosen design (prices of that design's LP; in the first
   round also to every location but the closable depots) and, on small instances, every
   chosen vector +-1 unit at its open locations join the pool; the MIP is re-solved while it
   improves.

The result carries a lower bound over every design and stock level
(:func:`optimizer.design.bound.coverage_bound`) and its gap. :func:`coverage_design` is the
"locate" step of the locate-then-stock baseline (:func:`optimizer.design.plan.plan_design` stocks
it): candidates opened greedily by coverage until every class's covered share reaches its target
plus a cushion.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from optimizer.design.bound import coverage_bound
from optimizer.design.certify import certify
from optimizer.design.master import DesignMasterResult, DesignRules, solve_design_master
from optimizer.design.problem import DesignProblem
from optimizer.design.result import DesignResult
from optimizer.stocking.cluster import Cluster
from optimizer.stocking.columns import ColumnPool, evaluate_columns, paths
from optimizer.stocking.evaluate import evaluate_parts
from optimizer.stocking.lagrange import (
    BIG_M,
    TIME_LIMIT,
    _first_ratio,
    _neighbours,
    surcharge_scales,
)
from optimizer.stocking.repair import repair_levels
from optimizer.stocking.targets import TargetPlan, class_ceiling, target_plan

Progress = Callable[[float], None]
MAX_PHASE1 = 8
"""Pricing rounds allowed to reach the targets before giving up."""
SEED_CUSHION = 0.02
"""Coverage cushion of the locate-then-stock design whose plans seed the pool (as the sequential
baseline's first try)."""
SYSTEM_GROUPS = 10_000
"""The real network's bound (coverage rows plus the units of every resupply pipeline) is solved
up to this many groups of the coverage model; above it its LP runs several times longer than a
master's time limit (cn-telecom: 23,548 groups), so it is not tried and no figure is given."""
RETRY_TIME = 3
"""A refine MIP stopped by its time limit before it held a whole design is solved once more with
this many times the time limit."""
NEIGHBOURHOOD_PAIRS = 5_000
"""Chosen vectors +-1 unit join the pool while parts x open locations is at most this (each
neighbour is a full evaluation of the part: at scale the design-restricted pricing does it)."""


@dataclass(frozen=True)
class DesignObjective:
    """What the planner asks for. ``targets`` (C,) override the shares aimed at (default: the
    contract targets, unreachable ones capped below their ceiling); ``budget``: a yearly budget
    for fixed + carrying cost (the design then maximises on-time demand); ``force_open`` /
    ``force_closed``: location ids; ``max_new``: at most this many candidates opened."""

    targets: np.ndarray | None = None
    budget: float | None = None
    force_open: Sequence[str] = ()
    force_closed: Sequence[str] = ()
    max_new: int | None = None

    def rules(self, dp: DesignProblem) -> DesignRules:
        ix = {str(x): j for j, x in enumerate(dp.location_ids)}
        for name in (*self.force_open, *self.force_closed):
            if name not in ix:
                raise KeyError(f"unknown location {name!r}")
        for name in self.force_closed:
            if not dp.switchable[ix[name]]:
                raise ValueError(f"location {name!r} is neither a candidate nor closable")
        both = set(self.force_open) & set(self.force_closed)
        if both:
            raise ValueError(f"locations both forced open and closed: {', '.join(sorted(both))}")
        if self.max_new is not None and self.max_new < 0:
            raise ValueError(f"max_new must be >= 0, got {self.max_new}")
        if self.budget is not None and not self.budget >= 0:
            raise ValueError(f"budget must be >= 0, got {self.budget}")
        return DesignRules(tuple(ix[n] for n in self.force_open),
                           tuple(ix[n] for n in self.force_closed), self.max_new, self.budget)


@dataclass
class _State:
    pool: ColumnPool
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def solve_design(dp: DesignProblem, objective: DesignObjective = DesignObjective(), *,
                 rounds: int = 1, refine: int = 3, time_limit_s: float = 20.0,
                 mip_gap: float = 1e-3, with_bound: bool = True, cluster: Cluster | None = None,
                 progress: Progress | None = None, method: str = "integrated",
                 seeds: Sequence[tuple[np.ndarray, np.ndarray]] = ()) -> DesignResult:
    """The cheapest design and stock levels meeting the targets (see the module docstring).

    ``rounds`` pricing rounds after the targets are met; up to ``refine`` rounds of
    design-restricted columns and neighbours, while each lowers the MIP's cost (on cn-telecom
    the third still finds a cheaper design); each master MIP stops at ``mip_gap`` or ``time_limit_s``;
    ``cluster``: where the pricing paths run (:func:`optimizer.stocking.columns.paths`; None:
    in this process). ``seeds``: designs
    with stock plans known beforehand, ``(open (L,), levels (P, L))`` (e.g. the locate-then-stock
    design stocked by the stocking solver on its own reach); topped up where this problem's model
    finds them a hair short (:func:`optimizer.stocking.repair.repair_levels`), their vectors join
    the pool and the first is the MIP's first incumbent, so the master never ends worse than it;
    the start then skips pricing the locate-then-stock design itself.
    """
    t0 = time.perf_counter()
    say = progress or (lambda f: None)
    pr = dp.stocking
    P, L, C = pr.n_parts, pr.n_locations, pr.n_classes
    rules = objective.rules(dp)
    closed_always = np.zeros(L, dtype=bool)
    closed_always[list(rules.force_closed)] = True
    # existing depots the design may close (not forced open): when the chosen design keeps one,
    # the first refine also prices every location but them, since paths priced with every
    # location allowed rarely give every part a vector that avoids a depot (which the master
    # needs to close it)
    closable = dp.switchable & ~dp.is_candidate
    closable[list(rules.force_open)] = False
    tp = design_targets(dp, rules)
    aimed = tp.aimed_at if objective.targets is None else np.asarray(objective.targets, float)
    st = _State(ColumnPool(L, C))
    st.notes.extend(tp.notes)
    D = pr.class_demand_per_year
    existing_only = closed_always | dp.is_candidate
    evaluate_columns(pr, np.arange(P), np.zeros((P, L), dtype=np.int64), st.pool)
    seed_cols = []
    for seed_open, S in seeds:
        S, met = repair_levels(pr, S, aimed, np.asarray(seed_open, dtype=bool) | ~dp.switchable,
                               pool=st.pool)  # its vectors, the topped-up plan's too, join the pool
        if not met:
            st.notes.append("a seeded plan misses the targets in the design model even after "
                            "topping it up: the master does not start from it")
        else:
            seed_cols.append(st.pool.index(np.arange(P), S))
    budget_mode = rules.budget is not None
    con = (~np.isnan(aimed) & (D > 0)) if not budget_mode else np.zeros(C, dtype=bool)
    prices0 = np.where(con if not budget_mode else D > 0, 1.0 / np.where(D > 0, D, 1.0), 0.0)

    def price(u: np.ndarray, blocked: np.ndarray, ratio: float, start: np.ndarray | None = None,
              entry: np.ndarray | None = None, surcharge: np.ndarray | None = None) -> np.ndarray:
        """Paths under class prices ``u`` in yearly cost per on-time demand (and ``entry`` (P, L),
        the price of a part's first unit at a location, ``surcharge`` (P, L) of every unit at a
        full one): divided by the carrying rate they weigh a unit's gain against its value, as
        the paths do."""
        h = max(dp.carrying_rate, 1e-12)
        return paths(pr, u / h, st.pool, stop_ratio=ratio, units_per_round=1, cluster=cluster,
                     blocked=blocked, start=start, entry_cost=None if entry is None else entry / h,
                     surcharge=None if surcharge is None else surcharge / h)

    ratio0 = _first_ratio(pr, prices0 / max(dp.carrying_rate, 1e-12)) * 1e-3
    t = time.perf_counter()
    price(prices0, closed_always, ratio0)
    price(prices0, existing_only, ratio0)
    seq_open = None
    if not budget_mode and not len(seeds):  # the locate-then-stock design's plans join the pool
        seq_open = coverage_design(dp, aimed, rules, cushion=SEED_CUSHION)
        if np.any(seq_open & dp.is_candidate):
            price(prices0, ~seq_open | closed_always, ratio0)
    st.timings["start"] = time.perf_counter() - t
    say(0.15)
    penalty = np.where(con, BIG_M * float(pr.unit_cost.sum()) * dp.carrying_rate
                       / np.where(D > 0, D, 1.0), 0.0)
    lp = None
    if not budget_mode:
        lp = solve_design_master(st.pool, dp, aimed, rules, integer=False, penalty=penalty,
                                 time_limit_s=time_limit_s)
        extra = 0
        for r in range(MAX_PHASE1 + rounds):
            t = time.perf_counter()
            short = bool(np.any(lp.shortfall > 1e-9 * np.maximum(D, 1e-12)))
            if not short:
                if extra >= rounds:
                    break
                extra += 1
            if not np.any(lp.prices > 0):
                break
            before = len(st.pool)
            sur = lp.surcharge(pr.unit_cost)
            for scale in (1.0,) if sur is None else surcharge_scales(P * L):
                price(lp.prices, closed_always, 0.5, entry=lp.entry,
                      surcharge=None if sur is None else scale * sur)
            if len(st.pool) == before:  # the prices bring no new vector: nothing more to learn
                break
            lp = solve_design_master(st.pool, dp, aimed, rules, integer=False, penalty=penalty,
                                     time_limit_s=time_limit_s)
            st.timings[f"pricing{r + 1}"] = time.perf_counter() - t
            say(min(0.6, 0.15 + 0.08 * (r + 1)))
        short = lp.shortfall > 1e-9 * np.maximum(D, 1e-12)
        for c in np.nonzero(short)[0]:
            # the pool cannot reach this share (location capacities, or the search): aim at
            # what it reaches and say so rather than fail
            reached = aimed[c] - lp.shortfall[c] / D[c]
            st.notes.append(f"{pr.class_label(c)}: the generated plans reach at most "
                            f"{reached:.2%} against the {aimed[c]:.2%} aimed at (capacities of the "
                            f"forward locations or the search); aiming at {reached - 1e-4:.2%}")
            aimed = aimed.copy()
            aimed[c] = max(reached - 1e-4, 0.0)
    else:
        top = float(rules.budget) / max(dp.carrying_rate, 1e-12)  # investment the budget allows
        S = price(prices0, closed_always, ratio0)
        while float(pr.unit_cost @ S.sum(axis=1)) < top and ratio0 > 1e-12:
            ratio0 /= 10
            S = price(prices0, closed_always, ratio0, start=S)
    t = time.perf_counter()
    start = seed_cols[0] if seed_cols and not budget_mode else None
    mip = solve_design_master(st.pool, dp, None if budget_mode else aimed, rules,
                              time_limit_s=time_limit_s, mip_gap=mip_gap, start=start)
    if (mip.choice is None or np.any(mip.choice < 0)) and lp is not None:
        # no incumbent in time: open every location the LP uses and pick the vectors for that
        lp_open = (lp.open > 1e-6) & dp.switchable
        st.notes.append(f"master MIP: {mip.status} without a design; every location the LP "
                        "uses opened for the first choice")
        mip = solve_design_master(st.pool, dp, aimed, fixed_rules(dp, lp_open, rules.budget),
                                  time_limit_s=time_limit_s,
                                  mip_gap=mip_gap)
    st.timings["mip"] = time.perf_counter() - t
    _log_mip(st, "first master MIP", mip)
    if mip.choice is None or np.any(mip.choice < 0):
        raise ValueError(f"no design meets the targets within the generated columns ({mip.status})")
    best = mip
    for k in range(refine):
        t = time.perf_counter()
        S = st.pool.arrays()[1][best.choice]
        is_open = best.open > 0.5
        before = len(st.pool)
        designs = [is_open] + ([seq_open] if k == 0 and seq_open is not None
                               and np.any(seq_open != is_open) else [])
        if k == 0 and np.any(is_open & closable):  # every location but the closable depots
            designs.append(~(closed_always | closable))
        for mask in designs if not budget_mode else []:
            # the stock each design needs, priced at that design's own class prices
            lp_fixed = solve_design_master(st.pool, dp, aimed, fixed_rules(dp, mask), integer=False,
                                           penalty=penalty, time_limit_s=time_limit_s)
            if np.any(lp_fixed.prices > 0):
                price(lp_fixed.prices, ~mask, 0.5, surcharge=lp_fixed.surcharge(pr.unit_cost))
        if P * int(is_open.sum()) <= NEIGHBOURHOOD_PAIRS:
            parts, vecs = _neighbours(S, swaps=False)
            ok = np.all(vecs[:, ~is_open] == 0, axis=1)
            evaluate_columns(pr, parts[ok], vecs[ok], st.pool)
        if len(st.pool) == before:
            break
        rounded, lp_bound = (None, -np.inf) if budget_mode else _lp_design(
            st.pool, dp, aimed, rules, time_limit_s=time_limit_s, mip_gap=mip_gap)
        if rounded is not None and rounded.objective - lp_bound <= mip_gap * rounded.objective:
            # within the MIP's gap of a bound over the pool: what the MIP would settle for
            mip2 = replace(rounded, bound=lp_bound, status=ROUNDED)
        else:
            # the LP's design, if it beats the incumbent, is the MIP's first incumbent
            begin = (rounded.choice if rounded is not None
                     and rounded.objective < best.objective - 1e-6 else best.choice)
            mip2 = solve_design_master(st.pool, dp, None if budget_mode else aimed, rules,
                                       time_limit_s=time_limit_s, mip_gap=mip_gap, start=begin)
        _log_mip(st, f"refine {k + 1} master MIP", mip2)
        if not _complete(mip2) and mip2.status == TIME_LIMIT:
            # stopped before its answer was a whole design (not even the start offered): the
            # pool grew since the last MIP, so give it longer once rather than drop the round
            mip2 = solve_design_master(st.pool, dp, None if budget_mode else aimed, rules,
                                       time_limit_s=RETRY_TIME * time_limit_s, mip_gap=mip_gap,
                                       start=best.choice)
            _log_mip(st, f"refine {k + 1} master MIP, again with {RETRY_TIME}x the time", mip2)
        st.timings[f"refine{k + 1}"] = time.perf_counter() - t
        say(0.6 + 0.25 * (k + 1) / max(refine, 1))
        if not _complete(mip2):
            break
        better = (mip2.objective < best.objective - 1e-6 if not budget_mode
                  else mip2.objective > best.objective + 1e-9)
        if better:
            best = mip2
        # a MIP stopped by its time limit without a better design proves nothing about the
        # pool: the next round refines the same design with more columns
        elif mip2.status != TIME_LIMIT:
            break
    bound = system = None
    if with_bound and not budget_mode:
        t = time.perf_counter()
        model = coverage_bound(dp, aimed, rules, time_limit_s=time_limit_s)
        bound = model.value
        if model.groups <= SYSTEM_GROUPS:
            system = coverage_bound(dp, aimed, rules, time_limit_s=time_limit_s,
                                    system=True).value
            system = system if system > 0 else None  # not solved in time: no figure, not 0
        st.timings["bound"] = time.perf_counter() - t
    say(0.95)
    res = replace(_result(dp, best, st, aimed, bound, method, t0), system_bound=system)
    if bound is not None and res.feasible:
        t = time.perf_counter()
        res = _certified(dp, res, rules)
        st.timings["certificate"] = time.perf_counter() - t
        res = replace(res, timings=dict(st.timings), runtime_s=time.perf_counter() - t0)
    return res


ROUNDED = "the LP's design, within the MIP gap of the pool's LP bound"
"""Status of a refine round settled by :func:`_lp_design` without the master MIP."""


def _lp_design(pool: ColumnPool, dp: DesignProblem, aimed: np.ndarray, rules: DesignRules, *,
               time_limit_s: float, mip_gap: float) -> tuple[DesignMasterResult | None, float]:
    """The master's LP relaxation over ``pool`` rounded to a design (the switchable locations
    it opens at least half), stocked by the master MIP with that design fixed (one column per
    part, no location choice: quick). Handed a large pool, the full MIP can spend its whole
    time limit still holding the design it started from, while the LP's locations are often
    (nearly) whole. Returns that MIP's answer (None where the LP has no optimum, the rounded
    design opens more candidates than ``max_new`` or no whole design is found) and the LP's
    objective, a lower bound over the pool (-inf without an optimum)."""
    lp = solve_design_master(pool, dp, aimed, rules, integer=False, time_limit_s=time_limit_s)
    if lp.status != "Optimal":
        return None, -np.inf
    design = (lp.open > 0.5) | ~dp.switchable
    if rules.max_new is not None and int((design & dp.is_candidate).sum()) > rules.max_new:
        return None, lp.objective
    fixed = solve_design_master(pool, dp, aimed, fixed_rules(dp, design),
                                time_limit_s=time_limit_s, mip_gap=mip_gap)
    return (fixed if _complete(fixed) else None), lp.objective


def _complete(res: DesignMasterResult) -> bool:
    """Whether a master MIP's answer picks a column for every part (a whole design)."""
    return res.choice is not None and not np.any(res.choice < 0)


def _log_mip(st: _State, stage: str, res: DesignMasterResult) -> None:
    """A note of how a master MIP ended (HiGHS status, its design's objective and proven bound
    over the pool, parts left without a column): a MIP stopped by its time limit may have
    missed a better design."""
    missing = 0 if res.choice is None else int((res.choice < 0).sum())
    st.notes.append(f"{stage}: {res.status}, objective {res.objective:,.0f}, bound over the "
                    f"pool {res.bound:,.0f}"
                    + (f", {missing} part(s) without a column" if missing else "")
                    + ("" if res.choice is not None else ", no design")
                    + (" (solved again without presolve: the first answer did not cost what "
                       "HiGHS reported)" if res.presolve_off else ""))


def _certified(dp: DesignProblem, res: DesignResult, rules: DesignRules) -> DesignResult:
    """``res`` with the certificate's bound (and its optimal design when it beats ``res``) where
    the instance is small enough for one (:func:`optimizer.design.certify.certify`)."""
    cert = certify(dp, res.aimed_at, rules, upper=res.yearly_cost, lower=float(res.bound),
                   levels=res.levels)
    if cert is None:
        return res
    notes = [f"certified bound: {cert.vectors:,} stock vectors and {cert.rounds} MIP(s) over every "
             f"design; no plan below {cert.bound:,.0f} a year meets the targets"]
    if cert.levels is not None and cert.yearly_cost < res.yearly_cost - 1e-6:
        notes.append(f"the certificate's optimal design costs {cert.yearly_cost:,.0f} a year "
                     f"against {res.yearly_cost:,.0f} found by the integrated master: it is kept")
        total, fixed, inv = dp.yearly_cost(cert.levels, cert.open)
        res = replace(res, open=cert.open, levels=cert.levels, evaluation=cert.evaluation,
                      yearly_cost=total, fixed_cost=fixed, investment=inv, feasible=True)
    gap = max(0.0, (res.yearly_cost - cert.bound) / res.yearly_cost) if res.yearly_cost > 0 else 0.0
    return replace(res, bound=cert.bound, gap=gap, notes=(*res.notes, *notes), certified=True)


def fixed_rules(dp: DesignProblem, is_open: np.ndarray, budget: float | None = None) -> DesignRules:
    """Rules that fix the design: the switchable locations of ``is_open`` (L,) open, the others
    closed."""
    return DesignRules(tuple(np.nonzero(is_open & dp.switchable)[0]),
                       tuple(np.nonzero(~is_open & dp.switchable)[0]), None, budget)


def design_targets(dp: DesignProblem, rules: DesignRules) -> TargetPlan:
    """The targets aimed at when every location but the forced-closed ones (and the candidates,
    when none may open) may hold stock."""
    allowed = np.ones(len(dp.location_ids), dtype=bool)
    allowed[list(rules.force_closed)] = False
    if rules.max_new == 0:
        allowed[dp.is_candidate] = False
    return target_plan(dp.stocking, class_ceiling(dp.stocking, allowed))


def _result(dp: DesignProblem, mip: DesignMasterResult, st: _State, aimed: np.ndarray,
            bound: float | None, method: str, t0: float) -> DesignResult:
    pr = dp.stocking
    S = st.pool.arrays()[1][mip.choice]
    is_open = (mip.open > 0.5) | ~dp.switchable
    t = time.perf_counter()
    ev = evaluate_parts(pr, S)
    st.timings["final evaluation"] = time.perf_counter() - t
    total, fixed, inv = dp.yearly_cost(S, is_open)
    feasible = ev.meets_targets(pr, aimed)
    gap = None
    if bound is not None and total > 0:
        gap = max(0.0, (total - bound) / total)
    return DesignResult(is_open, S, ev, total, fixed, inv, aimed, bound, gap, feasible, method,
                        len(st.pool), time.perf_counter() - t0, dict(st.timings), tuple(st.notes))


def coverage_design(dp: DesignProblem, aimed: np.ndarray, rules: DesignRules,
                    cushion: float = 0.0) -> np.ndarray:
    """Locations opened greedily by coverage (the "locate" step of the sequential baseline).

    Start from the existing network (and the forced-open locations); while a constrained class's
    ceiling is below its aim + ``cushion``, open the candidate whose newly covered demand (capped
    at each class's shortfall) per yearly fixed cost is largest. Returns the open mask (L,).
    """
    pr = dp.stocking
    L, C = pr.n_locations, pr.n_classes
    D = pr.class_demand_per_year
    is_open = ~dp.is_candidate.copy()
    is_open[list(rules.force_open)] = True
    is_open[list(rules.force_closed)] = False
    con = ~np.isnan(aimed) & (D > 0)
    goal = np.where(con, np.minimum(aimed + cushion, 1.0) * D, 0.0)
    on = (pr.stream_pref >= 0) & (pr.stream_p_on_time > 0)
    loc = np.where(on, pr.stream_pref, 0)
    w = np.where(pr.stream_in_service & con[pr.stream_class], pr.stream_rate_per_year, 0.0)
    allowed = dp.is_candidate & ~is_open
    allowed[list(rules.force_closed)] = False
    while True:
        covered = np.where(on & is_open[loc], pr.stream_p_on_time, 0.0).max(axis=1)
        got = np.bincount(pr.stream_class, weights=w * covered, minlength=C)
        short = np.maximum(goal - got, 0.0)
        if short.sum() <= 1e-12 or not allowed.any():
            break
        if rules.max_new is not None and (is_open & dp.is_candidate).sum() >= rules.max_new:
            break
        more = np.where(on, pr.stream_p_on_time - covered[:, None], 0.0)  # if j opened
        rows, cols = np.nonzero(more > 0)
        new = np.bincount(loc[rows, cols] * C + pr.stream_class[rows],
                          weights=w[rows] * more[rows, cols], minlength=L * C).reshape(L, C)
        gain = np.minimum(new, short[None, :]).sum(axis=1) / np.maximum(dp.fixed_cost, 1e-9)
        gain[~allowed] = 0.0
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            break
        is_open[j] = True
        allowed[j] = False
    return is_open
