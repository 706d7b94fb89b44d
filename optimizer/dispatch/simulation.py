"""Discrete-event simulation of the real dispatch rule over calendar time.

An independent check of a stock plan: where :mod:`optimizer.stocking.simulation` replays the
stocking model's own fill rule (first location of a preference list with stock, on time with the
reach's ``p_on_time``), this simulation sends every failure through the engine's decision function
:func:`optimizer.dispatch.decide.decide` at its real instant, so holidays, opening hours,
cut-offs, transport schedules, substitutes, customer kits, rationing (critical levels) and the
"cheapest option that is on time at this moment" rule all act as they do in production.

Model (one replication):

* **Failures.** For each installed-base row, a Poisson process of rate
  ``quantity x part.annual_failure_rate`` per year, split over the site contract's severities by
  ``settings.severity_mix`` renormalised over the severities the contract has terms for (as
  :func:`optimizer.stocking.problem.build_problem` does). Arrival instants are uniform in real
  time (UTC) over ``[start, start + (warmup_years + years) x 365 days]``, drawn with numpy from a
  generator seeded by ``(seed, replication)``.
* **Decision.** Each failure is a :class:`DispatchRequest` (reported = confirmed = approved at the
  failure instant) decided with the current on-hand stock as ``free_stock``. ON_TIME / AT_RISK:
  one unit of the chosen part (possibly a substitute) leaves the chosen depot; the failure is on
  time iff ``decision.outcome`` is ``on_time``. BACKORDERED: late; the customer waits in the FIFO
  queue of the requested part at the site's primary depot and is served by the next unit arriving
  there. Terms measured at a ``response`` milestone (no part deadline) use stock but are outside
  every class's service figure.
* **Replenishment** (one-for-one, as in :mod:`optimizer.stocking.simulation`). The location that
  shipped or backordered orders one unit from its parent: the parent ships if it has stock on hand
  (arriving after the child's ``replenishment_lead_time_days``), else the order joins the parent's
  FIFO queue and the parent orders in turn. The HQ replaces every unit by repair (probability
  ``repair_yield`` for repairable parts, after ``repair_turnaround_days``) or procurement (after
  ``procurement_lead_time_days``). A unit arriving serves the head of its location's queue (a
  waiting customer, or a child's order that then ships), else it goes on hand.

Every location starts with its base stock ``S`` on hand and nothing in the pipeline, so the first
months are optimistic: statistics cover only the measured window after ``warmup_years``.
Replications run one after the other on one shared :class:`TravelNetwork`.
"""

from __future__ import annotations

import heapq
import time as _time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from scipy import stats

from inventory.domain import DepotKind, Milestone, Scenario
from optimizer.dispatch.decide import decide
from optimizer.dispatch.rationing import CriticalLevels
from optimizer.dispatch.result import DispatchRequest, Outcome
from optimizer.stocking.problem import failing_base, service_classes, term_shares
from optimizer.travel import TravelNetwork

DAYS_PER_YEAR = 365.0
"""Days per simulated year: failure rates are per 365 days, as in the stocking model."""

ProgressCallback = Callable[[int, int], None]
"""Called with (failures decided, failures in total over all replications)."""

PROGRESS_EVERY = 1000

_CUSTOMER = -1  # queue entry of a waiting customer (children's orders are location indices)
_ON_TIME, _AT_RISK, _BACKORDERED = 0, 1, 2
_Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True, eq=False)
class DispatchSimResult:
    """Simulated service of base-stock levels under the real dispatch rule.

    Shapes: R replications, C classes, P parts, L locations (HQ first, then the other depots in
    scenario order, as in :class:`optimizer.stocking.problem.StockingProblem`), M sites.

    Classes are ordered as :func:`optimizer.stocking.problem.build_problem` orders them
    (contracts in file order, their terms by severity, each (tier, severity) once), so
    ``class_*`` arrays line up with a plan's ``class_on_time`` and ``service.csv``.

    Attributes
    ----------
    class_tier, class_severity : (C,) the class labels.
    class_target : (C,) strictest target of the class's part-deadline terms; NaN when the class
        has none (response milestone only).
    class_demands : (C,) in-service failures in the measured windows, all replications pooled.
    class_on_time_count : (C,) how many of those the decision put on time.
    class_at_risk, class_backordered : (C,) how many were shipped late (at risk) / backordered.
    class_on_time : (C,) pooled on-time share (NaN without in-service failures).
    class_ci_low, class_ci_high : (C,) 95 % interval: with ``replications >= 2`` a Student-t
        interval of the mean of the per-replication shares (valid under the autocorrelation of
        stock-outs); with one replication a Wilson interval on the pooled count (treats failures
        as independent, so it is too narrow when stock-outs cluster). Clipped to [0, 1].
    class_on_time_by_replication : (R, C) on-time share per replication (NaN without demand).
    overall_on_time : pooled on-time share over all in-service failures.
    failures : all failures in the measured windows (in service or not), over replications.
    no_deadline : of those, failures of response-milestone terms.
    backordered, at_risk : of ``failures``, how many were backordered / shipped late.
    location_ids : (L,); fills : (L,) measured failures each location shipped to a customer
        at decision time (backorders served later are not counted).
    on_time_fills : (L,) of ``fills``, the on-time in-service ones.
    site_ids : (M,); site_fills : (L, M) measured shipments per location and site.
    part_ids : (P,); base_stock : (P, L) the levels simulated.
    final_on_hand, final_pipeline, final_backorders, final_in_transit : (R, P, L) state at the
        end of each replication: units on hand; units due to the location (in transit, queued at
        its parent, or for the HQ in repair/procurement); entries in its FIFO queue (customers and
        children's orders); the physical part of the pipeline.
    final_customer_backorders : (R, P) customers still waiting at the end.
    failures_simulated : every failure decided (warm-up included, all replications).
    runtime_s : wall time of the event loops (failure generation included).
    years, warmup_years, replications, seed, start : the run's settings.
    """

    class_tier: np.ndarray
    class_severity: np.ndarray
    class_target: np.ndarray
    class_demands: np.ndarray
    class_on_time_count: np.ndarray
    class_at_risk: np.ndarray
    class_backordered: np.ndarray
    class_on_time: np.ndarray
    class_ci_low: np.ndarray
    class_ci_high: np.ndarray
    class_on_time_by_replication: np.ndarray
    overall_on_time: float
    failures: int
    no_deadline: int
    backordered: int
    at_risk: int
    location_ids: np.ndarray
    fills: np.ndarray
    on_time_fills: np.ndarray
    site_ids: np.ndarray
    site_fills: np.ndarray
    part_ids: np.ndarray
    base_stock: np.ndarray
    final_on_hand: np.ndarray
    final_pipeline: np.ndarray
    final_backorders: np.ndarray
    final_in_transit: np.ndarray
    final_customer_backorders: np.ndarray
    failures_simulated: int
    runtime_s: float
    years: float
    warmup_years: float
    replications: int
    seed: int
    start: date

    @property
    def n_classes(self) -> int:
        return len(self.class_tier)

    def class_label(self, c: int) -> str:
        return f"{self.class_tier[c]}/sev{int(self.class_severity[c])}"

    def class_index(self, tier: str, severity: int) -> int:
        """Index of class (tier, severity); KeyError if the scenario has no such class."""
        for c in range(self.n_classes):
            if self.class_tier[c] == tier and int(self.class_severity[c]) == int(severity):
                return c
        raise KeyError(f"no class {tier}/sev{severity}")

    @property
    def backordered_share(self) -> float:
        """Share of the measured failures that found no stock anywhere."""
        return self.backordered / self.failures if self.failures else float("nan")

    @property
    def at_risk_share(self) -> float:
        """Share of the measured failures shipped with no option meeting the deadline."""
        return self.at_risk / self.failures if self.failures else float("nan")

    @property
    def failures_per_second(self) -> float:
        return self.failures_simulated / self.runtime_s if self.runtime_s > 0 else float("nan")

    @property
    def final_position(self) -> np.ndarray:
        """(R, P, L) on hand + pipeline - backorders at the end (equals the base stock)."""
        return self.final_on_hand + self.final_pipeline - self.final_backorders


@dataclass(frozen=True)
class _Streams:
    """Failure streams: one per (installed-base row, contract term with a positive share)."""

    rate_per_year: np.ndarray  # (N,)
    site_id: list[str]
    site_ix: list[int]
    part_id: list[str]
    part_ix: list[int]
    severity: list[int]
    klass: list[int]  # class index
    in_service: list[bool]
    primary: list[int]  # location index of the site's primary depot


def _classes(scenario: Scenario) -> tuple[dict[tuple[str, int], int], list[float]]:
    """Class index per (tier, severity) and its target, in build_problem's order."""
    return service_classes(scenario)


def _streams(scenario: Scenario, classes: Mapping[tuple[str, int], int],
             loc_ix: Mapping[str, int], part_ix: Mapping[str, int],
             site_ix: Mapping[str, int]) -> _Streams:
    mix = scenario.settings.severity_mix
    rate: list[float] = []
    out: dict[str, list] = {k: [] for k in ("site_id", "site_ix", "part_id", "part_ix", "severity",
                                            "klass", "in_service", "primary")}
    for _, part, site, contract, base_rate in failing_base(scenario):
        for term, share in term_shares(contract, mix):
            rate.append(base_rate * float(share))
            out["site_id"].append(site.site_id)
            out["site_ix"].append(site_ix[site.site_id])
            out["part_id"].append(part.part_id)
            out["part_ix"].append(part_ix[part.part_id])
            out["severity"].append(term.severity)
            out["klass"].append(classes[(contract.tier, term.severity)])
            out["in_service"].append(term.milestone is not Milestone.RESPONSE)
            out["primary"].append(loc_ix[site.primary_depot_id])
    return _Streams(rate_per_year=np.array(rate, dtype=float), **out)


def _failures(streams: _Streams, horizon_days: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times in days, stream index, uniform for the HQ repair draw), sorted by time."""
    counts = rng.poisson(streams.rate_per_year * (horizon_days / DAYS_PER_YEAR))
    which = np.repeat(np.arange(len(counts)), counts)
    times = rng.uniform(0.0, horizon_days, len(which))
    order = np.argsort(times, kind="stable")
    u_repair = rng.random(len(which))
    return times[order], which[order], u_repair


def _wilson(k: np.ndarray, n: np.ndarray, z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def _t_interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise 95 % t-interval of the mean over the non-NaN rows; NaN with < 2 rows."""
    valid = ~np.isnan(samples)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(samples, axis=0) / np.maximum(count, 1)
        dev = np.where(valid, samples - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / np.maximum(count - 1, 1))
        half = stats.t.ppf(0.975, np.maximum(count - 1, 1)) * sd / np.sqrt(np.maximum(count, 1))
    ok = count >= 2
    return (np.where(ok, np.clip(mean - half, 0.0, 1.0), np.nan),
            np.where(ok, np.clip(mean + half, 0.0, 1.0), np.nan))


@dataclass(frozen=True, eq=False)
class _Static:
    """What every replication reads: the network, index maps and lead times."""

    scenario: Scenario
    network: TravelNetwork
    levels: CriticalLevels
    L: int
    loc_ix: Mapping[str, int]
    part_ix: Mapping[str, int]
    keys: list[tuple[str, str]]  # flat k = part * L + location -> (depot_id, part_id)
    parent: list[int]
    transit: list[float]
    repair_p: list[float]
    repair_days: list[float]
    proc_days: list[float]
    streams: _Streams
    start_dt: datetime
    horizon: float


def _replicate(st: _Static, S: np.ndarray, times: np.ndarray, which: np.ndarray,
               u_repair: np.ndarray, tick: Callable[[], None]):
    """One replication's event loop over ``[0, st.horizon]`` days.

    Returns ``(outcome, shipped_loc, free, queues, heap)``: per failure its outcome code and the
    location that shipped it (-1: backordered), then the final state (on hand per
    ``(depot_id, part_id)``, FIFO queues per flat key, pending arrivals).
    """
    L, keys, parent, transit = st.L, st.keys, st.parent, st.transit
    repair_p, repair_days, proc_days = st.repair_p, st.repair_days, st.proc_days
    loc_ix, part_ix = st.loc_ix, st.part_ix
    scenario, network, levels = st.scenario, st.network, st.levels
    s_site, s_part, s_sev = st.streams.site_id, st.streams.part_id, st.streams.severity
    s_part_ix, s_primary = st.streams.part_ix, st.streams.primary
    start_dt, one_day = st.start_dt, timedelta(days=1)
    free: dict[tuple[str, str], int] = {keys[k]: int(S.flat[k]) for k in range(len(keys))}
    queues: dict[int, deque[int]] = {}
    heap: list[tuple[float, int, int]] = []  # (day, seq, flat key of the arriving unit)
    seq = 0
    n = len(times)
    outcome = np.empty(n, dtype=np.int8)
    shipped_loc = np.full(n, -1, dtype=np.int64)

    def order_up(k: int, t: float, u: float) -> None:
        """Location of ``k`` replaces one unit: up the tree until a parent ships, then the HQ
        orders from repair or procurement."""
        nonlocal seq
        p, j = divmod(k, L)
        base = p * L
        while j != 0:
            q = parent[j]
            kq = base + q
            key = keys[kq]
            if free[key] > 0:
                free[key] -= 1
                seq += 1
                heapq.heappush(heap, (t + transit[j], seq, base + j))
            else:
                dq = queues.get(kq)
                if dq is None:
                    dq = queues[kq] = deque()
                dq.append(j)
            j = q
        delay = repair_days[p] if u < repair_p[p] else proc_days[p]
        seq += 1
        heapq.heappush(heap, (t + delay, seq, base))

    def arrive(k: int, t: float) -> None:
        nonlocal seq
        dq = queues.get(k)
        if dq:
            head = dq.popleft()
            if head != _CUSTOMER:
                seq += 1
                heapq.heappush(heap, (t + transit[head], seq, k - k % L + head))
        else:
            free[keys[k]] += 1

    times_l, which_l, u_l = times.tolist(), which.tolist(), u_repair.tolist()
    for i in range(n):
        t = times_l[i]
        while heap and heap[0][0] <= t:
            ta, _, k = heapq.heappop(heap)
            arrive(k, ta)
        s = which_l[i]
        at = start_dt + t * one_day
        req = DispatchRequest(s_site[s], s_part[s], s_sev[s], at, confirmed_at=at,
                              approved_at=at)
        d = decide(req, scenario=scenario, network=network, free_stock=free, levels=levels)
        chosen = d.chosen
        if chosen is None:
            outcome[i] = _BACKORDERED
            k = s_part_ix[s] * L + s_primary[s]
            dq = queues.get(k)
            if dq is None:
                dq = queues[k] = deque()
            dq.append(_CUSTOMER)
        else:
            outcome[i] = _ON_TIME if d.outcome is Outcome.ON_TIME else _AT_RISK
            j = loc_ix[chosen.depot_id]
            k = part_ix[chosen.part_id] * L + j
            key = keys[k]
            if free[key] <= 0:  # decide only weighs depots with free stock
                raise RuntimeError(f"decide chose {key} without stock on hand")
            free[key] -= 1
            shipped_loc[i] = j
        order_up(k, t, u_l[i])
        tick()
    while heap and heap[0][0] <= st.horizon:
        ta, _, k = heapq.heappop(heap)
        arrive(k, ta)
    return outcome, shipped_loc, free, queues, heap


def simulate_dispatch(scenario: Scenario, base_stock: Mapping[tuple[str, str], int], *,
                      years: float, seed: int, warmup_years: float = 0.5,
                      start: date = date(2026, 1, 5), replications: int = 1,
                      network: TravelNetwork | None = None, levels: CriticalLevels | None = None,
                      progress: ProgressCallback | None = None) -> DispatchSimResult:
    """Simulate ``base_stock`` under the real dispatch decision over real calendar time.

    Parameters
    ----------
    scenario
        The network, contracts, installed base and transport modes.
    base_stock
        ``{(part_id, depot_id): S}`` base-stock levels (whole numbers >= 0); every location starts
        with ``S`` on hand. Locations not in the mapping hold 0.
    years, warmup_years
        Measured years per replication after a discarded warm-up (365 days a year).
    seed
        Replication ``r`` draws its failures from ``numpy.random.default_rng([seed, r])``.
    start
        First day of the simulation (00:00 UTC); the default 2026-01-05 is a Monday.
    replications
        Independent runs (>= 2 gives t-intervals over replications).
    network
        The scenario's :class:`TravelNetwork` (built once here if None).
    levels
        Critical levels for rationing (e.g. :func:`optimizer.dispatch.rationing.critical_levels`
        of the same base stock); None protects nothing.
    progress
        Called with (failures decided, failures in total) every 1,000 failures and at the end.
    """
    if not years > 0 or not warmup_years >= 0:
        raise ValueError("years must be > 0 and warmup_years >= 0")
    if replications < 1:
        raise ValueError("replications must be >= 1")
    t_start = _time.perf_counter()
    network = network if network is not None else TravelNetwork(scenario)
    hq = scenario.hq
    locs = [hq.depot_id] + [d.depot_id for d in scenario.depots if d.kind is not DepotKind.HQ]
    loc_ix = {d: i for i, d in enumerate(locs)}
    parts = [p.part_id for p in scenario.parts]
    part_ix = {p: i for i, p in enumerate(parts)}
    sites = [s.site_id for s in scenario.sites]
    site_ix = {s: i for i, s in enumerate(sites)}
    P, L, M = len(parts), len(locs), len(sites)

    S = np.zeros((P, L), dtype=np.int64)
    for (part_id, depot_id), s in base_stock.items():
        if part_id not in part_ix:
            raise KeyError(f"base_stock: unknown part {part_id!r}")
        if depot_id not in loc_ix:
            raise KeyError(f"base_stock: unknown depot {depot_id!r}")
        if s < 0 or int(s) != s:
            raise ValueError(f"base_stock[{part_id!r}, {depot_id!r}] must be a whole number >= 0, "
                             f"got {s}")
        S[part_ix[part_id], loc_ix[depot_id]] = int(s)

    classes, targets = _classes(scenario)
    C = len(classes)
    streams = _streams(scenario, classes, loc_ix, part_ix, site_ix)
    parent = [-1] + [loc_ix[scenario.depot(d).parent_id] for d in locs[1:]]
    transit = [0.0] + [float(scenario.depot(d).replenishment_lead_time_days) for d in locs[1:]]
    part_objs = [scenario.part(p) for p in parts]
    repair_p = [p.repair_yield if p.repairable else 0.0 for p in part_objs]
    repair_days = [float(p.repair_turnaround_days) for p in part_objs]
    proc_days = [float(p.procurement_lead_time_days) for p in part_objs]
    # state keys: flat k = part * L + location; free stock is read by decide() as a dict
    keys = [(locs[k % L], parts[k // L]) for k in range(P * L)]

    warm = warmup_years * DAYS_PER_YEAR
    horizon = (warmup_years + years) * DAYS_PER_YEAR
    start_dt = datetime(start.year, start.month, start.day, tzinfo=UTC)

    draws = [_failures(streams, horizon, np.random.default_rng([seed, r]))
             for r in range(replications)]
    total = int(sum(len(d[0]) for d in draws))

    R = replications
    c_dem = np.zeros((R, C), dtype=np.int64)
    c_ok = np.zeros((R, C), dtype=np.int64)
    c_risk = np.zeros(C, dtype=np.int64)
    c_bo = np.zeros(C, dtype=np.int64)
    n_fail = n_nodl = n_bo = n_risk = 0
    fills = np.zeros(L, dtype=np.int64)
    ok_fills = np.zeros(L, dtype=np.int64)
    site_fills = np.zeros((L, M), dtype=np.int64)
    fin_oh = np.zeros((R, P, L), dtype=np.int64)
    fin_pipe = np.zeros((R, P, L), dtype=np.int64)
    fin_bo = np.zeros((R, P, L), dtype=np.int64)
    fin_tr = np.zeros((R, P, L), dtype=np.int64)
    fin_cust = np.zeros((R, P), dtype=np.int64)

    s_site_ix = streams.site_ix
    levels = levels if levels is not None else CriticalLevels()

    static = _Static(scenario=scenario, network=network, levels=levels, L=L, loc_ix=loc_ix,
                     part_ix=part_ix, keys=keys, parent=parent, transit=transit,
                     repair_p=repair_p, repair_days=repair_days, proc_days=proc_days,
                     streams=streams, start_dt=start_dt, horizon=horizon)
    counter = [0]

    def tick() -> None:
        counter[0] += 1
        if progress is not None and counter[0] % PROGRESS_EVERY == 0:
            progress(counter[0], total)

    for r, (times, which, u_repair) in enumerate(draws):
        outcome, shipped_loc, free, queues, heap = _replicate(static, S, times, which, u_repair,
                                                              tick)
        # final state, counted from the heap and the queues
        tr = np.zeros(P * L, dtype=np.int64)
        for _, _, k in heap:
            tr[k] += 1
        pipe = tr.copy()
        bo = np.zeros(P * L, dtype=np.int64)
        cust = np.zeros(P, dtype=np.int64)
        for k, dq in queues.items():
            bo[k] = len(dq)
            for entry in dq:
                if entry == _CUSTOMER:
                    cust[k // L] += 1
                else:
                    pipe[k - k % L + entry] += 1
        fin_oh[r] = np.array([free[keys[k]] for k in range(P * L)]).reshape(P, L)
        fin_tr[r], fin_pipe[r], fin_bo[r] = tr.reshape(P, L), pipe.reshape(P, L), bo.reshape(P, L)
        fin_cust[r] = cust

        # tallies over the measured window
        keep = times >= warm
        w = which[keep]
        oc = outcome[keep]
        loc = shipped_loc[keep]
        svc = np.asarray(streams.in_service, dtype=bool)[w] if len(w) else np.zeros(0, bool)
        cls = np.asarray(streams.klass, dtype=np.int64)[w] if len(w) else np.zeros(0, np.int64)
        on_time = oc == _ON_TIME
        c_dem[r] = np.bincount(cls[svc], minlength=C)
        c_ok[r] = np.bincount(cls[svc & on_time], minlength=C)
        c_risk += np.bincount(cls[svc & (oc == _AT_RISK)], minlength=C)
        c_bo += np.bincount(cls[svc & (oc == _BACKORDERED)], minlength=C)
        n_fail += int(keep.sum())
        n_nodl += int((~svc).sum())
        n_bo += int((oc == _BACKORDERED).sum())
        n_risk += int((oc == _AT_RISK).sum())
        shipped = loc >= 0
        fills += np.bincount(loc[shipped], minlength=L)
        ok_fills += np.bincount(loc[shipped & svc & on_time], minlength=L)
        site_w = np.asarray(s_site_ix, dtype=np.int64)[w] if len(w) else np.zeros(0, np.int64)
        np.add.at(site_fills, (loc[shipped], site_w[shipped]), 1)
    if progress is not None:
        progress(counter[0], total)

    dem, ok = c_dem.sum(axis=0), c_ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(dem > 0, ok / np.maximum(dem, 1), np.nan)
        per_rep = np.where(c_dem > 0, c_ok / np.maximum(c_dem, 1), np.nan)
    lo, hi = _t_interval(per_rep) if R >= 2 else _wilson(ok.astype(float), dem.astype(float))
    tiers = [k[0] for k in classes]
    sevs = [k[1] for k in classes]
    return DispatchSimResult(
        class_tier=np.array(tiers, dtype=object), class_severity=np.array(sevs, dtype=np.int64),
        class_target=np.array(targets, dtype=float), class_demands=dem, class_on_time_count=ok,
        class_at_risk=c_risk, class_backordered=c_bo, class_on_time=share, class_ci_low=lo,
        class_ci_high=hi, class_on_time_by_replication=per_rep,
        overall_on_time=float(ok.sum() / dem.sum()) if dem.sum() else float("nan"),
        failures=n_fail, no_deadline=n_nodl, backordered=n_bo, at_risk=n_risk,
        location_ids=np.array(locs, dtype=object), fills=fills, on_time_fills=ok_fills,
        site_ids=np.array(sites, dtype=object), site_fills=site_fills,
        part_ids=np.array(parts, dtype=object), base_stock=S,
        final_on_hand=fin_oh, final_pipeline=fin_pipe, final_backorders=fin_bo,
        final_in_transit=fin_tr, final_customer_backorders=fin_cust, failures_simulated=total,
        runtime_s=_time.perf_counter() - t_start, years=float(years),
        warmup_years=float(warmup_years), replications=R, seed=int(seed), start=start,
    )
