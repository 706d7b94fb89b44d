"""Supersession and interchangeable parts in planning: which part carries whose demand and stock.

``substitutions.csv`` says what dispatch may ship instead of what: ``one_way`` (old -> new, the
newer part replaces the older, not back) and ``two_way`` (interchangeable). Planning follows the
same links (:func:`Succession.from_scenario`), in the stocking plan (``spares plan``, the network
design and the demo: :func:`planning_scenario` before the stocking problem is built) and in the
quarterly run (:mod:`optimizer.restock.run`, which also splits the pooled targets over the old
parts' stock):

* **Pools.** Parts linked both ways (``two_way`` rows, or one-way links that close a cycle) are
  one pool, planned as one part: its **representative**, the pool's active part (then phase-out,
  then end-of-life), the cheapest among those, then the first in the catalog.
* **Chains.** A one-way link is followed when the newer part can serve (it is not end of life);
  chains are followed to their end (A -> B -> C: A and B are planned as C). A part with several
  successors follows its first row in the file.
* **Demand.** A part's installed base and dispatch history pass to the part that carries it
  (:meth:`Succession.planning_scenario`), so the forecast and the stocking model plan the whole
  demand on the representative; its annual failure rate becomes the installed-base-weighted mean
  of the parts it carries, which keeps the pool's prior demand unchanged.
* **Stock.** The pooled target of a representative is split (:meth:`Succession.split_targets`):
  the other members' stock is used up first, oldest link first, and the representative is
  bought only for what remains, so a superseded part is never bought, repaired or transferred
  while its successor can serve. A member's unit only serves the requests it may ship for (its
  own and those of the parts linked to it), so its stock counts for at most
  ``ceil(share x pooled target)`` per location, ``share`` being those parts' share of the pool's
  installed-base demand (1 for interchangeable members). Its stock beyond that is excess.
  :meth:`Succession.fold_levels` applies the same rule to evaluate a stock position on the pooled
  model.

Chains are followed transitively here and by the dispatch engine
(:meth:`inventory.domain.Scenario.substitutes_for`), so a multi-step chain planned as its last
part may ship that part for every part of the chain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from inventory.domain import (
    DemandRecord,
    InstalledBase,
    Lifecycle,
    Part,
    Scenario,
    Substitution,
    SubstitutionKind,
)

LIFECYCLE_RANK = {Lifecycle.ACTIVE: 0, Lifecycle.PHASE_OUT: 1, Lifecycle.END_OF_LIFE: 2}


@dataclass(frozen=True, eq=False)
class Succession:
    """Who carries whose demand, in catalog order.

    Attributes
    ----------
    part_ids : (P,) catalog order.
    planned_as : part -> the representative that carries its demand (itself if none).
    kind : member -> ``superseded`` or ``interchangeable`` (representatives are absent).
    use_order : representative -> its other members, the order their stock is used up in.
    share : member -> share of its pool's demand its stock may serve (the cap, see the module).
    own_share : member -> share of its pool's demand that is its own (its installed base).
    """

    part_ids: tuple[str, ...]
    planned_as: dict[str, str]
    kind: dict[str, str]
    use_order: dict[str, tuple[str, ...]]
    share: dict[str, float]
    own_share: dict[str, float]

    @property
    def planned_elsewhere(self) -> frozenset[str]:
        """Parts whose demand another part carries."""
        return frozenset(self.kind)

    @classmethod
    def from_parts(cls, parts: Sequence[Part], substitutions: Sequence[Substitution],
                   demand_rate: Sequence[float]) -> Succession:
        """From the catalog, the substitution rows (file order) and each part's demand rate
        (any unit, catalog order; it only sets the caps' shares)."""
        ids = tuple(p.part_id for p in parts)
        by_id = {p.part_id: p for p in parts}
        pos = {p: i for i, p in enumerate(ids)}
        rate = dict(zip(ids, np.asarray(demand_rate, dtype=float), strict=True))
        g = nx.DiGraph()
        g.add_nodes_from(ids)
        for n, s in enumerate(substitutions):
            for pid in (s.part_id, s.substitute_id):
                if pid not in by_id:
                    raise ValueError(f"substitution row {n}: unknown part {pid!r}")
            if s.kind is SubstitutionKind.TWO_WAY:
                g.add_edge(s.substitute_id, s.part_id, row=n)
                g.add_edge(s.part_id, s.substitute_id, row=n)
            elif by_id[s.substitute_id].lifecycle is not Lifecycle.END_OF_LIFE:
                g.add_edge(s.part_id, s.substitute_id, row=n)
        comp = {p: k for k, c in enumerate(nx.strongly_connected_components(g)) for p in c}
        members_of: dict[int, list[str]] = defaultdict(list)
        for p in ids:
            members_of[comp[p]].append(p)
        nxt: dict[int, tuple[int, int]] = {}  # component -> (row, next component)
        for u, v, row in g.edges(data="row"):
            cu, cv = comp[u], comp[v]
            if cu != cv and (cu not in nxt or row < nxt[cu][0]):
                nxt[cu] = (row, cv)

        def rep_of(c: int) -> str:
            return min(members_of[c], key=lambda p: (LIFECYCLE_RANK[by_id[p].lifecycle],
                                                     by_id[p].unit_cost, pos[p]))

        planned_as, kind, depth = {}, {}, {}
        for p in ids:
            c, steps = comp[p], 0
            while c in nxt:
                c, steps = nxt[c][1], steps + 1
            rep = rep_of(c)
            planned_as[p], depth[p] = rep, steps
            if p != rep:
                kind[p] = "interchangeable" if steps == 0 else "superseded"
        pools: dict[str, list[str]] = defaultdict(list)
        for p in ids:
            pools[planned_as[p]].append(p)
        use_order, share, own = {}, {}, {}
        for rep, mem in pools.items():
            others = sorted((p for p in mem if p != rep), key=lambda p: (-depth[p], pos[p]))
            if not others:
                continue
            use_order[rep] = tuple(others)
            total = sum(rate[p] for p in mem)
            for p in others:
                served = {p} | (nx.ancestors(g, p) & set(mem))  # parts that may ship p
                mine = float(sum(rate[q] for q in served))
                share[p] = 1.0 if total <= 0 else min(1.0, mine / total)
                own[p] = 1.0 / len(mem) if total <= 0 else float(rate[p] / total)
        return cls(ids, planned_as, kind, use_order, share, own)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Succession:
        """From the scenario's catalog and substitutions; shares from the installed-base demand
        (the dispatch history where no part of a pool has an installed base)."""
        rate = defaultdict(float)
        for ib in scenario.installed_base:
            rate[ib.part_id] += ib.quantity * scenario.part(ib.part_id).annual_failure_rate
        hist = defaultdict(float)
        for r in scenario.demand_history:
            hist[r.part_id] += r.quantity
        base = [rate[p.part_id] for p in scenario.parts]
        if not any(base):
            base = [hist[p.part_id] for p in scenario.parts]
        return cls.from_parts(scenario.parts, scenario.substitutions, base)

    def planning_scenario(self, scenario: Scenario) -> Scenario:
        """The scenario with every member's installed base and history moved to its
        representative (the representative's failure rate keeps the pool's prior demand)."""
        if not self.kind:
            return scenario
        units: dict[tuple[str, str], int] = defaultdict(int)
        fail: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        # a what-if's demand_factor travels as the rate-weighted mean over the merged rows
        plain: dict[tuple[str, str], float] = defaultdict(float)
        scaled: dict[tuple[str, str], float] = defaultdict(float)
        for ib in scenario.installed_base:
            rep = self.planned_as[ib.part_id]
            units[(ib.site_id, rep)] += ib.quantity
            fail[rep] += ib.quantity * scenario.part(ib.part_id).annual_failure_rate
            count[rep] += ib.quantity
            plain[(ib.site_id, rep)] += ib.quantity * scenario.part(ib.part_id).annual_failure_rate
            scaled[(ib.site_id, rep)] += ib.rate_per_year(scenario.part(ib.part_id))
        hist: dict[tuple[str, str, str], int] = defaultdict(int)
        for r in scenario.demand_history:
            hist[(r.month, r.site_id, self.planned_as[r.part_id])] += r.quantity
        parts = tuple(replace(p, annual_failure_rate=fail[p.part_id] / count[p.part_id])
                      if p.part_id in self.use_order and count[p.part_id] > 0 else p
                      for p in scenario.parts)
        return replace(scenario, parts=parts,
                       installed_base=tuple(InstalledBase(s, p, q, _factor(plain[(s, p)],
                                                                            scaled[(s, p)]))
                                            for (s, p), q in units.items()),
                       demand_history=tuple(DemandRecord(m, s, p, q)
                                            for (m, s, p), q in hist.items()))

    def member_demand(self, demand_per_quarter: np.ndarray, own_split: np.ndarray) -> np.ndarray:
        """(P, L) demand per quarter for the orders step: each member's row is its own share of
        its representative's demand (the representative's HQ column, which carries the whole
        part), split over locations by ``own_split`` (P, L), the member's own installed base.
        Its stock that this demand uses within the excess horizon is then not excess."""
        out = np.asarray(demand_per_quarter, dtype=float).copy()
        self._check(out, own_split)
        ix = {p: i for i, p in enumerate(self.part_ids)}
        for rep, mem in self.use_order.items():
            for m in mem:
                out[ix[m]] = self.own_share[m] * out[ix[rep], 0] * np.asarray(own_split)[ix[m]]
        return out

    def _rows(self) -> list[tuple[int, list[tuple[int, float]]]]:
        ix = {p: i for i, p in enumerate(self.part_ids)}
        return [(ix[rep], [(ix[m], self.share[m]) for m in mem])
                for rep, mem in self.use_order.items()]

    def split_targets(self, target: np.ndarray, position: np.ndarray) -> np.ndarray:
        """(P, L) targets per part from the pooled (P, L) ``target`` (members' rows ignored):
        each member keeps up to its usable stock, in use order; the representative the rest."""
        target = np.asarray(target, dtype=np.int64)
        self._check(target, position)
        out = target.copy()
        for r, mem in self._rows():
            left = target[r].copy()
            for m, share in mem:
                cap = np.ceil(share * target[r] - 1e-9).astype(np.int64)
                give = np.clip(np.minimum(np.asarray(position[m], dtype=np.int64), cap), 0, left)
                out[m] = give
                left -= give
            out[r] = left
        return out

    def pool_targets(self, target: np.ndarray) -> np.ndarray:
        """(P, L) targets with each member's row added to its representative's (e.g. a plan made
        part by part, read back) and the members' rows 0."""
        out = np.asarray(target, dtype=np.int64).copy()
        for r, mem in self._rows():
            for m, _ in mem:
                out[r] += out[m]
                out[m] = 0
        return out

    def fold_levels(self, levels: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(P, L) levels on the pooled model: each member's level, capped as in
        :meth:`split_targets` against the pooled ``target``, added to its representative's."""
        levels = np.asarray(levels, dtype=np.int64)
        self._check(target, levels)
        out = levels.copy()
        for r, mem in self._rows():
            for m, share in mem:
                cap = np.ceil(share * np.asarray(target[r]) - 1e-9).astype(np.int64)
                out[r] += np.clip(np.minimum(levels[m], cap), 0, None)
                out[m] = 0
        return out

    def _check(self, a: np.ndarray, b: np.ndarray) -> None:
        if np.shape(a) != np.shape(b) or np.shape(a)[0] != len(self.part_ids):
            raise ValueError(f"expected two ({len(self.part_ids)}, L) arrays, got "
                             f"{np.shape(a)} and {np.shape(b)}")


def _factor(plain: float, scaled: float) -> float:
    """The demand factor of merged installed-base rows (1 without what-if scaling)."""
    return scaled / plain if plain > 0 else 1.0


def planning_scenario(scenario: Scenario) -> tuple[Scenario, Succession]:
    """The scenario the stocking model plans on (every member's installed base and history on
    its representative, :meth:`Succession.planning_scenario`) and its succession; planning its
    result again moves nothing more."""
    succession = Succession.from_scenario(scenario)
    return succession.planning_scenario(scenario), succession


def describe(succession: Succession) -> list[str]:
    """One line per pool, for a run's notes."""
    out = []
    for rep, mem in succession.use_order.items():
        parts = ", ".join(f"{m} ({succession.kind[m]})" for m in mem)
        out.append(f"{rep} is planned with {parts}: their demand is planned on {rep}, their "
                   "stock is used first and never bought")
    return out


__all__ = ["Succession", "describe", "planning_scenario"]
