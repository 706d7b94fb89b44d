"""The per-part work of the stocking solver in chunks of parts, run on a :mod:`cluster
<optimizer.stocking.cluster>` or in this process.

A problem is cut into consecutive blocks of parts (:func:`part_chunks`; the cut depends only on
the problem and the chunk size, never on the cluster), each a problem of its own
(:class:`PartChunk`). In this process a chunk's arrays are cut when its task runs and dropped
after, so only one chunk's copy exists at a time; on a cluster every chunk is built once per
problem and scattered to the workers (:meth:`DaskCluster.share
<optimizer.stocking.cluster.DaskCluster.share>`). Results are stitched in chunk order, so they do
not depend on where the chunks ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.stocking.cluster import Cluster, workers_of
from optimizer.stocking.evaluate import Evaluation, class_shares, evaluate_parts, select_streams
from optimizer.stocking.problem import StockingProblem


@dataclass(frozen=True, eq=False)
class PartChunk:
    """Parts ``lo..hi-1`` of ``problem`` and their streams (ascending problem indices)."""

    problem: StockingProblem
    lo: int
    hi: int
    streams: np.ndarray

    def build(self) -> StockingProblem:
        """The chunk as a problem of its own (part ``i`` = problem part ``lo + i``)."""
        pr = self.problem
        return select_streams(pr, np.arange(self.lo, self.hi), self.streams,
                              pr.stream_part[self.streams] - self.lo)


def part_chunks(problem: StockingProblem, chunk_parts: int) -> list[PartChunk]:
    """Consecutive blocks of ``chunk_parts`` parts (the last may be shorter)."""
    P = problem.n_parts
    order = np.argsort(problem.stream_part, kind="stable")
    edges = np.searchsorted(problem.stream_part[order], np.arange(0, P + chunk_parts, chunk_parts))
    out = []
    for i, lo in enumerate(range(0, P, chunk_parts)):
        hi = min(P, lo + chunk_parts)
        out.append(PartChunk(problem, lo, hi, np.sort(order[edges[i]:edges[i + 1]])))
    return out


def chunk_inputs(problem: StockingProblem, chunk_parts: int, cluster: Cluster | None
                 ) -> tuple[list[PartChunk], list]:
    """``(chunks, handles)``: the chunks, and what a task gets for each (the lazy chunk in this
    process; a scattered, built chunk on a cluster, shipped once per problem and chunk size)."""
    chunks = part_chunks(problem, chunk_parts)
    run = workers_of(cluster)
    if run.local:
        return chunks, list(chunks)
    return chunks, run.share(problem, ("chunks", chunk_parts), lambda: (c.build() for c in chunks))


def resolve(handle: PartChunk | StockingProblem) -> StockingProblem:
    """The chunk problem a task works on."""
    return handle.build() if isinstance(handle, PartChunk) else handle


def _evaluate_task(handle: PartChunk | StockingProblem, S: np.ndarray, tol: float,
                   with_fill: bool, warm: np.ndarray | None) -> Evaluation:
    return evaluate_parts(resolve(handle), S, tol=tol, with_fill=with_fill,
                          initial_availability=warm)


def evaluate_levels(problem: StockingProblem, S: np.ndarray, *, cluster: Cluster | None = None,
                    chunk_parts: int, tol: float = 1e-10, with_fill: bool = True,
                    initial_availability: np.ndarray | None = None) -> Evaluation:
    """:func:`optimizer.stocking.evaluate.evaluate_parts` of levels ``S`` (P, L), chunk by chunk
    of ``chunk_parts`` parts on ``cluster`` (None: here), stitched into one evaluation."""
    S = np.asarray(S, dtype=np.int64)
    chunks, handles = chunk_inputs(problem, chunk_parts, cluster)
    warm = initial_availability
    evs = workers_of(cluster).run(_evaluate_task, [
        (h, S[c.lo:c.hi], tol, with_fill, None if warm is None else warm[c.lo:c.hi])
        for c, h in zip(chunks, handles, strict=True)])
    if len(evs) == 1:
        return evs[0]
    P, L, N = problem.n_parts, problem.n_locations, len(problem.stream_part)
    K = problem.stream_pref.shape[1] if with_fill else 0
    names = ("availability", "rate_per_year", "pipeline_mean", "pipeline_var", "backorders",
             "backorder_var")
    fields = {k: np.zeros((P, L)) for k in names}
    on_time = np.zeros(N)
    fill = np.zeros((N, K))
    delay = np.zeros(P)
    for c, ev in zip(chunks, evs, strict=True):
        for k, arr in fields.items():
            arr[c.lo:c.hi] = getattr(ev, k)
        on_time[c.streams] = ev.stream_on_time
        if with_fill:
            fill[c.streams] = ev.stream_fill
        delay[c.lo:c.hi] = ev.hq_delay_days
    shares, overall = class_shares(problem, on_time)
    return Evaluation(shares, overall, on_time, fill, fields["availability"],
                      fields["rate_per_year"], fields["pipeline_mean"], fields["pipeline_var"],
                      fields["backorders"], fields["backorder_var"], delay,
                      max((ev.iterations for ev in evs), default=0))
