"""Discrete-event simulation of the stocking model: the referee of the analytic evaluation.

It plays out exactly the semantics of :mod:`optimizer.stocking.problem` (see
``docs/stocking-model.md``) without any of the analytic model's approximations:

* failures of every stream arrive as a Poisson process (drawn with numpy for the whole horizon);
* a failure is filled by the first location of its preference list holding stock and is on time
  with that location's ``p_on_time`` (a uniform draw); with no stock anywhere in the list it is
  late and charged to the stream's primary location: shipped from its stock if it has some (a
  primary outside the list cannot make the deadline but may hold stock), else backordered there
  (FIFO queue);
* the location that fills or backorders the failure orders one unit from its parent (one-for-one
  base stock): the parent ships if it has stock (the unit arrives after the child's
  ``transit_days``), else the order joins the parent's FIFO backorder queue, and the parent orders
  in turn; the HQ replaces every unit it ships or backorders by repair (probability
  ``repair_yield``, after ``repair_turnaround_days``) or procurement (after
  ``procurement_lead_time_days``); consumables are always procured;
* a unit arriving at a location serves the head of its backorder queue (a customer, or a child's
  order that then ships), otherwise it goes on hand.

Parts are independent given the base stock, so each (part, replication) runs its own event loop
with its own random generator seeded by ``(seed, part, replication)``: results do not depend on
the order parts are run in. Statistics cover ``[warmup, warmup + years]`` only; every location
starts with ``S`` on hand and nothing in the pipeline.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from optimizer.stocking.chunks import chunk_inputs, resolve
from optimizer.stocking.cluster import Cluster, workers_of
from optimizer.stocking.problem import DAYS_PER_YEAR, StockingProblem

ProgressCallback = Callable[[int, int], None]
"""Called after each part with (parts done, parts in total)."""


@dataclass(frozen=True, eq=False)
class PartRun:
    """Outcome of one replication of one part (counts over the measured window).

    Attributes
    ----------
    class_demands, class_on_time : (C,) in-service failures and how many were on time.
    stream_demands, stream_on_time : (n,) the same per stream of this part (part's streams in
        problem order).
    requests, fills : (L,) customer failures that probed each location (reached it in their
        preference list) and how many of those it filled.
    stock_out_days : (L,) days in the window with nothing on hand.
    backorder_days : (L,) integral of the backorder queue length over the window (unit-days).
    on_hand, pipeline, backorders : (L,) final state: units on hand; units due to the location
        (in transit, queued at its parent, or for the HQ in repair/procurement); entries in its
        backorder queue.
    in_transit : (L,) final units physically on their way to the location (for the HQ: in repair
        or procurement); ``pipeline - in_transit`` are orders queued at the parent.
    customer_backorders : customer failures still waiting at the end.
    """

    class_demands: np.ndarray
    class_on_time: np.ndarray
    stream_demands: np.ndarray
    stream_on_time: np.ndarray
    requests: np.ndarray
    fills: np.ndarray
    stock_out_days: np.ndarray
    backorder_days: np.ndarray
    on_hand: np.ndarray
    pipeline: np.ndarray
    backorders: np.ndarray
    in_transit: np.ndarray
    customer_backorders: int


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Simulated service of one stock plan over independent replications.

    Shapes: R replications, C classes, P parts, L locations, N streams.

    Attributes
    ----------
    class_on_time : (C,) mean over replications of the per-replication on-time share (NaN for a
        class without in-service demand).
    class_ci_low, class_ci_high : (C,) 95% t-interval of that mean, clipped to [0, 1] (NaN with
        fewer than two replications having demand in the class).
    class_on_time_by_replication : (R, C) on-time share per replication.
    class_demands : (C,) in-service failures simulated over all replications (measured window).
    overall_on_time : pooled on-time share over all in-service failures and replications.
    stream_on_time : (N,) pooled on-time share per stream (NaN for a stream without failures).
    stream_demands : (N,) failures per stream over all replications.
    fill_rate : (P, L) share of the customer failures that probed a location (all earlier
        locations of their list were empty) that it filled; NaN where none probed it.
    availability : (P, L) time share with stock on hand (the fill rate a Poisson stream sees);
        NaN for parts left out of the run.
    mean_backorders : (P, L) time-average backorder queue length (customers + children's orders);
        NaN for parts left out of the run.
    final_on_hand, final_pipeline, final_backorders : (R, P, L) state at the end of each run
        (see :class:`PartRun`); final_in_transit : (R, P, L) the physical part of the pipeline.
    final_customer_backorders : (R, P) customer failures still waiting at the end.
    total_demands : all failures simulated in the measured windows (in service or not).
    years, warmup_years, replications, seed : the run's settings.
    """

    class_on_time: np.ndarray
    class_ci_low: np.ndarray
    class_ci_high: np.ndarray
    class_on_time_by_replication: np.ndarray
    class_demands: np.ndarray
    overall_on_time: float
    stream_on_time: np.ndarray
    stream_demands: np.ndarray
    fill_rate: np.ndarray
    availability: np.ndarray
    mean_backorders: np.ndarray
    final_on_hand: np.ndarray
    final_pipeline: np.ndarray
    final_backorders: np.ndarray
    final_in_transit: np.ndarray
    final_customer_backorders: np.ndarray
    total_demands: int
    years: float
    warmup_years: float
    replications: int
    seed: int

    @property
    def final_position(self) -> np.ndarray:
        """(R, P, L) inventory position at the end: on hand + pipeline - backorders (equals S)."""
        return self.final_on_hand + self.final_pipeline - self.final_backorders


@dataclass(frozen=True)
class _PartData:
    """One part's arrays in the plain-Python form the event loop wants."""

    streams: np.ndarray  # problem stream indices of this part
    rate_per_day: np.ndarray  # (n,)
    pref: list[list[int]]  # preference list per stream (location indices)
    p_on_time: np.ndarray  # (n, K)
    primary: list[int]
    stream_class: np.ndarray
    in_service: np.ndarray
    parent: list[int]
    transit_days: list[float]
    repairable: bool
    repair_yield: float
    repair_days: float
    procurement_days: float


def _part_data(problem: StockingProblem, p: int) -> _PartData:
    streams = np.nonzero(problem.stream_part == p)[0]
    prefs = [[int(j) for j in row if j >= 0] for row in problem.stream_pref[streams]]
    return _PartData(
        streams=streams,
        rate_per_day=problem.stream_rate_per_year[streams] / DAYS_PER_YEAR,
        pref=prefs,
        p_on_time=problem.stream_p_on_time[streams],
        primary=[int(j) for j in problem.stream_primary[streams]],
        stream_class=problem.stream_class[streams],
        in_service=problem.stream_in_service[streams],
        parent=[int(j) for j in problem.parent],
        transit_days=[float(t) for t in problem.transit_days],
        repairable=bool(problem.repairable[p]),
        repair_yield=float(problem.repair_yield[p]),
        repair_days=float(problem.repair_turnaround_days[p]),
        procurement_days=float(problem.procurement_lead_time_days[p]),
    )


_CUSTOMER = -1  # backorder-queue entry of a waiting customer (children are location indices)


def simulate_part(data: _PartData, S: np.ndarray, n_classes: int, *, horizon_days: float,
                  warmup_days: float, rng: np.random.Generator) -> PartRun:
    """Run one replication of one part over ``[0, horizon_days]``; measure after ``warmup_days``.

    ``S`` is the (L,) base stock of the part. Customer failures are pre-drawn (times, stream,
    on-time uniform, HQ resupply delay); the event heap only holds unit arrivals.
    """
    L = len(S)
    n_streams = len(data.streams)
    total_rate = float(data.rate_per_day.sum())
    n = int(rng.poisson(total_rate * horizon_days)) if total_rate > 0 else 0
    times = np.sort(rng.uniform(0.0, horizon_days, n))
    which = (rng.choice(n_streams, size=n, p=data.rate_per_day / total_rate) if n
             else np.zeros(0, dtype=np.int64))
    u_on_time = rng.random(n)
    # Every failure causes exactly one HQ order (the one-for-one chain ends there).
    if data.repairable:
        hq_delay = np.where(rng.random(n) < data.repair_yield, data.repair_days, data.procurement_days)
    else:
        hq_delay = np.full(n, data.procurement_days)

    on_hand = [int(s) for s in S]
    queue: list[deque[int]] = [deque() for _ in range(L)]
    parent, transit = data.parent, data.transit_days
    pref, primary = data.pref, data.primary
    heap: list[tuple[float, int, int]] = []  # (time, seq, location the unit arrives at)
    seq = 0
    hq_orders = 0
    # Time integrals over the measured window.
    empty_since = [0.0 if s == 0 else -1.0 for s in on_hand]
    stock_out = [0.0] * L
    bo_changed = [0.0] * L
    bo_area = [0.0] * L
    requests = [0] * L
    fills = [0] * L
    warm = warmup_days

    def overlap(a: float, b: float) -> float:
        """Length of [a, b] inside the measured window [warm, horizon]."""
        lo = a if a > warm else warm
        return b - lo if b > lo else 0.0

    def queue_changed(j: int, t: float) -> None:
        bo_area[j] += len(queue[j]) * overlap(bo_changed[j], t)
        bo_changed[j] = t

    def take(j: int, t: float) -> None:
        on_hand[j] -= 1
        if on_hand[j] == 0:
            empty_since[j] = t

    def order_from_parent(j: int, t: float) -> None:
        """Location j replaces one unit: walk up the tree until a parent ships or the HQ orders."""
        nonlocal seq, hq_orders
        while j != 0:
            q = parent[j]
            if on_hand[q] > 0:
                take(q, t)
                seq += 1
                heapq.heappush(heap, (t + transit[j], seq, j))
            else:
                queue_changed(q, t)
                queue[q].append(j)
            j = q
        seq += 1
        heapq.heappush(heap, (t + float(hq_delay[hq_orders]), seq, 0))
        hq_orders += 1

    def arrive(j: int, t: float) -> None:
        nonlocal seq
        if queue[j]:
            queue_changed(j, t)
            child = queue[j].popleft()
            if child != _CUSTOMER:
                seq += 1
                heapq.heappush(heap, (t + transit[child], seq, child))
        else:
            if on_hand[j] == 0:
                stock_out[j] += overlap(empty_since[j], t)
            on_hand[j] += 1

    filled_at = np.full(n, -1, dtype=np.int64)  # position in the preference list, -1 backordered
    times_list = times.tolist()
    which_list = which.tolist()
    for i in range(n):
        t = times_list[i]
        while heap and heap[0][0] <= t:
            ta, _, j = heapq.heappop(heap)
            arrive(j, ta)
        s = which_list[i]
        measured = t >= warm
        fill_loc = -1
        for k, j in enumerate(pref[s]):
            if measured:
                requests[j] += 1
            if on_hand[j] > 0:
                take(j, t)
                fill_loc = j
                filled_at[i] = k
                if measured:
                    fills[j] += 1
                break
        if fill_loc < 0:
            # Late: the primary ships from its own stock if it has some (it is not in the list
            # because it cannot make the deadline), else the failure waits in its queue.
            fill_loc = primary[s]
            if on_hand[fill_loc] > 0:
                take(fill_loc, t)
            else:
                queue_changed(fill_loc, t)
                queue[fill_loc].append(_CUSTOMER)
        order_from_parent(fill_loc, t)
    while heap and heap[0][0] <= horizon_days:
        ta, _, j = heapq.heappop(heap)
        arrive(j, ta)
    for j in range(L):
        queue_changed(j, horizon_days)
        if on_hand[j] == 0:
            stock_out[j] += overlap(empty_since[j], horizon_days)

    # Final state, counted from the heap and the queues (independently of any running counter).
    in_transit = np.zeros(L, dtype=np.int64)
    for _, _, j in heap:
        in_transit[j] += 1
    pipeline = in_transit.copy()
    for q in range(L):
        for entry in queue[q]:
            if entry != _CUSTOMER:
                pipeline[entry] += 1
    customers_waiting = sum(entry == _CUSTOMER for dq in queue for entry in dq)

    # Vectorised tallies of on-time shares over the measured failures.
    keep = times >= warm
    k_fill = filled_at[keep]
    s_fill = which[keep]
    p = np.where(k_fill >= 0, data.p_on_time[s_fill, np.maximum(k_fill, 0)], 0.0)
    on_time = u_on_time[keep] < p
    stream_demands = np.bincount(s_fill, minlength=n_streams)
    stream_on_time = np.bincount(s_fill, weights=on_time, minlength=n_streams)
    svc = data.in_service
    cls = data.stream_class
    class_demands = np.bincount(cls[svc], weights=stream_demands[svc], minlength=n_classes)
    class_on_time = np.bincount(cls[svc], weights=stream_on_time[svc], minlength=n_classes)
    return PartRun(
        class_demands=class_demands, class_on_time=class_on_time,
        stream_demands=stream_demands, stream_on_time=stream_on_time,
        requests=np.array(requests), fills=np.array(fills),
        stock_out_days=np.array(stock_out), backorder_days=np.array(bo_area),
        on_hand=np.array(on_hand, dtype=np.int64), pipeline=pipeline,
        backorders=np.array([len(dq) for dq in queue], dtype=np.int64), in_transit=in_transit,
        customer_backorders=int(customers_waiting),
    )


def t_interval(samples: np.ndarray, confidence: float = 0.95, lo: float = 0.0, hi: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and two-sided Student-t interval of ``samples`` (R, C), NaN-aware.

    Returns ``(mean, low, high)``; the interval is clipped to ``[lo, hi]`` (shares live in
    [0, 1]) and is NaN where fewer than two samples exist.
    """
    valid = ~np.isnan(samples)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, np.nansum(samples, axis=0) / np.maximum(count, 1), np.nan)
        dev = np.where(valid, samples - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / np.maximum(count - 1, 1))
        half = stats.t.ppf(0.5 + confidence / 2, np.maximum(count - 1, 1)) * sd / np.sqrt(count)
    half = np.where(count >= 2, half, np.nan)
    return mean, np.clip(mean - half, lo, hi), np.clip(mean + half, lo, hi)


PARTS_PER_TASK = 50
"""Parts one simulation task plays out (the problem is cut into such chunks once)."""
REPLICATIONS_PER_TASK = 10
"""Replications one simulation task plays out for its parts."""


def _simulate_task(handle: object, parts: np.ndarray, S: np.ndarray, n_classes: int,
                   horizon: float, warm: float, seed: int, offset: int, r0: int, r1: int
                   ) -> dict[str, np.ndarray]:
    """Replications ``r0..r1-1`` of the chunk-local ``parts`` (problem part ``offset + p``):
    per-replication arrays, in the order the caller adds them up."""
    sub = resolve(handle)
    R, B, L, n = r1 - r0, len(parts), sub.n_locations, len(sub.stream_part)
    out = {"class_dem": np.zeros((R, n_classes)), "class_ok": np.zeros((R, n_classes)),
           "stream_dem": np.zeros(n), "stream_ok": np.zeros(n),
           "requests": np.zeros((B, L)), "fills": np.zeros((B, L)),
           "stock_out": np.zeros((R, B, L)), "bo_days": np.zeros((R, B, L)),
           "on_hand": np.zeros((R, B, L), dtype=np.int64),
           "pipeline": np.zeros((R, B, L), dtype=np.int64),
           "backorders": np.zeros((R, B, L), dtype=np.int64),
           "in_transit": np.zeros((R, B, L), dtype=np.int64),
           "customers": np.zeros((R, B), dtype=np.int64)}
    for i, p in enumerate(parts):
        data = _part_data(sub, int(p))
        for k, r in enumerate(range(r0, r1)):
            rng = np.random.default_rng([seed, offset + int(p), r])
            run = simulate_part(data, S[p], n_classes, horizon_days=horizon, warmup_days=warm,
                                rng=rng)
            out["class_dem"][k] += run.class_demands
            out["class_ok"][k] += run.class_on_time
            out["stream_dem"][data.streams] += run.stream_demands
            out["stream_ok"][data.streams] += run.stream_on_time
            out["requests"][i] += run.requests
            out["fills"][i] += run.fills
            out["stock_out"][k, i] = run.stock_out_days
            out["bo_days"][k, i] = run.backorder_days
            out["on_hand"][k, i], out["pipeline"][k, i] = run.on_hand, run.pipeline
            out["backorders"][k, i], out["in_transit"][k, i] = run.backorders, run.in_transit
            out["customers"][k, i] = run.customer_backorders
    return out


def simulate(problem: StockingProblem, base_stock: np.ndarray, *, years: float, replications: int,
             seed: int, warmup_years: float = 1.0, parts: np.ndarray | None = None,
             progress: ProgressCallback | None = None, cluster: Cluster | None = None,
             parts_per_task: int = PARTS_PER_TASK,
             replications_per_task: int = REPLICATIONS_PER_TASK) -> SimulationResult:
    """Simulate base-stock levels ``base_stock`` (P, L) and measure the service per class.

    Parameters
    ----------
    problem : the stocking problem (streams, tree, lead times).
    base_stock : (P, L) whole numbers >= 0, HQ in column 0.
    years : measured length of each replication (years), after ``warmup_years``.
    replications : independent replications (>= 1; >= 2 for confidence intervals).
    seed : reproducibility: the same seed gives the same result.
    warmup_years : discarded start-up period; every location starts with S on hand and an empty
        pipeline, which is optimistic until the pipelines fill (a few resupply times).
    parts : optional subset of part indices to simulate (the others count no demand).
    progress : called with (parts done, parts total) as the work advances (a part counts as
        done in proportion to its replications run).
    cluster : where the (part chunk, replication block) tasks run
        (:mod:`optimizer.stocking.cluster`; None: in this process). Every (part, replication)
        has its own random stream and the tallies are added up in one fixed order, so the
        result is identical wherever the tasks ran.
    parts_per_task, replications_per_task : the size of one task.
    """
    S = np.asarray(base_stock)
    P, L, C = problem.n_parts, problem.n_locations, problem.n_classes
    if S.shape != (P, L):
        raise ValueError(f"base_stock has shape {S.shape}, expected ({P}, {L})")
    if S.size and (np.any(S < 0) or np.any(np.round(S) != S)):
        raise ValueError("base_stock must hold whole numbers >= 0")
    if years <= 0 or warmup_years < 0:
        raise ValueError("years must be > 0 and warmup_years >= 0")
    if replications < 1:
        raise ValueError("replications must be >= 1")
    if parts_per_task < 1 or replications_per_task < 1:
        raise ValueError("parts_per_task and replications_per_task must be >= 1")
    S = S.astype(np.int64)
    todo = np.arange(P) if parts is None else np.asarray(parts, dtype=np.int64)
    R = replications
    horizon = (warmup_years + years) * DAYS_PER_YEAR
    warm = warmup_years * DAYS_PER_YEAR
    N = len(problem.stream_part)

    class_dem = np.zeros((R, C))
    class_ok = np.zeros((R, C))
    stream_dem = np.zeros(N)
    stream_ok = np.zeros(N)
    requests = np.zeros((P, L))
    fills = np.zeros((P, L))
    stock_out = np.zeros((P, L))
    bo_days = np.zeros((P, L))
    fin_oh = np.zeros((R, P, L), dtype=np.int64)
    fin_pipe = np.zeros((R, P, L), dtype=np.int64)
    fin_bo = np.zeros((R, P, L), dtype=np.int64)
    fin_tr = np.zeros((R, P, L), dtype=np.int64)
    fin_cust = np.zeros((R, P), dtype=np.int64)
    fin_oh[:] = S  # parts not simulated stay at their start state
    chunks, handles = chunk_inputs(problem, parts_per_task, cluster)
    tasks, meta = [], []
    for c, h in zip(chunks, handles, strict=True):
        sel = np.unique(todo[(todo >= c.lo) & (todo < c.hi)]) - c.lo
        if sel.size == 0:
            continue
        for r0 in range(0, R, replications_per_task):
            r1 = min(R, r0 + replications_per_task)
            tasks.append((h, sel, S[c.lo:c.hi], C, horizon, warm, int(seed), c.lo, r0, r1))
            meta.append((c, sel, r0, r1))
    done = [0.0]

    def advance(i: int) -> None:
        _, sel, r0, r1 = meta[i]
        done[0] += len(sel) * (r1 - r0) / R
        if progress is not None:
            progress(int(round(done[0])), len(todo))

    # Added up in (chunk, replication block) order: per part the replications in order, as a
    # single loop over parts and replications would.
    for (c, sel, r0, r1), out in zip(meta, workers_of(cluster).run(_simulate_task, tasks, advance),
                                     strict=True):
        g = c.lo + sel
        class_dem[r0:r1] += out["class_dem"]
        class_ok[r0:r1] += out["class_ok"]
        stream_dem[c.streams] += out["stream_dem"]
        stream_ok[c.streams] += out["stream_ok"]
        requests[g] += out["requests"]
        fills[g] += out["fills"]
        for k in range(r1 - r0):
            stock_out[g] += out["stock_out"][k]
            bo_days[g] += out["bo_days"][k]
        fin_oh[r0:r1, g], fin_pipe[r0:r1, g] = out["on_hand"], out["pipeline"]
        fin_bo[r0:r1, g], fin_tr[r0:r1, g] = out["backorders"], out["in_transit"]
        fin_cust[r0:r1, g] = out["customers"]

    with np.errstate(invalid="ignore", divide="ignore"):
        per_rep = np.where(class_dem > 0, class_ok / np.where(class_dem > 0, class_dem, 1), np.nan)
        stream_share = np.where(stream_dem > 0, stream_ok / np.maximum(stream_dem, 1), np.nan)
        fill_rate = np.where(requests > 0, fills / np.maximum(requests, 1), np.nan)
    mean, low, high = t_interval(per_rep)
    ran = np.zeros(P, dtype=bool)
    ran[todo] = True
    measured_days = years * DAYS_PER_YEAR * R
    svc = problem.stream_in_service
    total_svc = stream_dem[svc].sum()
    return SimulationResult(
        class_on_time=mean, class_ci_low=low, class_ci_high=high,
        class_on_time_by_replication=per_rep, class_demands=class_dem.sum(axis=0),
        overall_on_time=float(stream_ok[svc].sum() / total_svc) if total_svc else float("nan"),
        stream_on_time=stream_share, stream_demands=stream_dem,
        fill_rate=fill_rate, availability=np.where(ran[:, None], 1.0 - stock_out / measured_days, np.nan),
        mean_backorders=np.where(ran[:, None], bo_days / measured_days, np.nan),
        final_on_hand=fin_oh, final_pipeline=fin_pipe, final_backorders=fin_bo,
        final_in_transit=fin_tr, final_customer_backorders=fin_cust, total_demands=int(stream_dem.sum()),
        years=float(years), warmup_years=float(warmup_years), replications=R, seed=int(seed),
    )
