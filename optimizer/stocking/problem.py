"""The stocking problem as plain numpy arrays, built from a scenario and its reach.

:class:`StockingProblem` is what the evaluation model, the solvers and the simulation read: no
domain objects, only ids and arrays. Locations are the HQ (index 0) and every other depot in
scenario order; ``parent`` gives the tree (-1 for the HQ). Demand is aggregated into **streams**:
all failures of one part in one service class whose sites share the same primary depot and the
same preference list (depot, p_on_time) form one Poisson stream (superposition of Poisson
processes), so the models work on thousands of streams instead of every site. Preference lists
come from the reach's patterns (:func:`_pattern_prefs`): at a request's moment the depots on time
then come first with ``p_on_time`` 1, the reach's tail depots on time within that pattern follow
with their share of its instants (:func:`_with_tails`), then the others with 0, and each pattern
is a stream carrying its share of the request instants (thinning a Poisson process by an
independent mark).

Semantics (see ``docs/stocking-model.md``):

* a failure of stream ``n`` is filled by the first location in ``stream_pref[n]`` holding stock and
  is then on time with probability ``stream_p_on_time[n, k]``; if none holds stock it is
  backordered at ``stream_primary[n]`` and is late;
* streams of terms measured at a ``response`` milestone (no part deadline) have
  ``stream_in_service`` False: they consume stock (filled from the primary depot only) but do not
  count in any class's on-time share;
* a site whose key is missing from the reach (nothing reaches it in time) gives a stream with an
  empty preference list: always backordered at its primary depot, always late.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from inventory.domain import (
    Contract,
    DepotKind,
    InstalledBase,
    Milestone,
    Part,
    Scenario,
    SeverityTerm,
    Site,
    SizeClass,
)

DAYS_PER_YEAR = 365.0


class ReachLike(Protocol):
    """What :func:`build_problem` needs from :class:`optimizer.reach.Reach` (``tails`` empty:
    no key has depots beyond the weighed ones)."""

    keys: Sequence[tuple[str, int, str]]
    entries: Sequence[tuple[tuple[str, float], ...]]
    patterns: Sequence[tuple[tuple[float, int], ...]]
    no_part_deadline: Sequence[tuple[str, int]]
    tails: Sequence[tuple[tuple[str, tuple[float, ...]], ...]]


MAX_LATE = 2
"""Late fall-back depots kept per pattern (they only decide which location ships a late part)."""


@dataclass(frozen=True, eq=False)
class StockingProblem:
    """Plain-array form of a two-echelon (any depth of tree) base-stock problem.

    Shapes: P parts, L locations, C classes, N streams, K longest preference list.

    Attributes
    ----------
    part_ids : (P,) str
    location_ids : (L,) str, index 0 is the HQ.
    parent : (L,) int, parent location index, -1 for the HQ.
    transit_days : (L,) float, replenishment lead time from the parent in days (0 for the HQ).
    unit_cost : (P,) float, currency per unit.
    repairable : (P,) bool
    repair_turnaround_days, repair_yield, procurement_lead_time_days : (P,) float
    class_tier : (C,) str; class_severity : (C,) int
    class_target : (C,) float, on-time target in (0, 1]; NaN where the class has no part deadline.
    stream_part, stream_class, stream_primary : (N,) int
    stream_rate_per_year : (N,) float, Poisson failure rate (units per year).
    stream_pref : (N, K) int, location indices in preference order, -1 padding.
    stream_p_on_time : (N, K) float, on-time probability when filled from that location, 0 padding.
    stream_in_service : (N,) bool, False for demand without a part deadline.
    currency : str; name : str (scenario name).
    cap_units, cap_value : (L,) float, the most stock a location may hold over all parts (units;
        currency at unit cost); ``inf`` = no cap (the default when not given).
    """

    name: str
    currency: str
    part_ids: np.ndarray
    location_ids: np.ndarray
    parent: np.ndarray
    transit_days: np.ndarray
    unit_cost: np.ndarray
    repairable: np.ndarray
    repair_turnaround_days: np.ndarray
    repair_yield: np.ndarray
    procurement_lead_time_days: np.ndarray
    class_tier: np.ndarray
    class_severity: np.ndarray
    class_target: np.ndarray
    stream_part: np.ndarray
    stream_class: np.ndarray
    stream_rate_per_year: np.ndarray
    stream_primary: np.ndarray
    stream_pref: np.ndarray
    stream_p_on_time: np.ndarray
    stream_in_service: np.ndarray
    cap_units: np.ndarray | None = None
    cap_value: np.ndarray | None = None

    def __post_init__(self) -> None:
        P, L, C = len(self.part_ids), len(self.location_ids), len(self.class_tier)
        N = len(self.stream_part)
        for name in ("cap_units", "cap_value"):
            cap = getattr(self, name)
            cap = np.full(L, np.inf) if cap is None else np.asarray(cap, dtype=float)
            if cap.shape != (L,) or np.any(np.isnan(cap)) or np.any(cap < 0):
                raise ValueError(f"{name} must hold one number >= 0 (or inf) per location")
            object.__setattr__(self, name, cap)
        if L == 0 or self.parent[0] != -1 or np.any(self.parent[1:] < 0):
            raise ValueError("location 0 must be the HQ (parent -1) and every other location needs a parent")
        for name, n in (("unit_cost", P), ("repairable", P), ("repair_turnaround_days", P),
                        ("repair_yield", P), ("procurement_lead_time_days", P), ("parent", L),
                        ("transit_days", L), ("class_severity", C), ("class_target", C),
                        ("stream_class", N), ("stream_rate_per_year", N), ("stream_primary", N),
                        ("stream_in_service", N)):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has length {len(getattr(self, name))}, expected {n}")
        if self.stream_pref.shape != self.stream_p_on_time.shape or self.stream_pref.shape[0] != N:
            raise ValueError("stream_pref and stream_p_on_time must both be (N, K)")
        if np.any(self.unit_cost <= 0):
            raise ValueError("unit_cost must be > 0")
        if np.any(self.stream_rate_per_year < 0):
            raise ValueError("stream rates must be >= 0")
        if N and (self.stream_part.max() >= P or self.stream_class.max() >= C
                  or self.stream_pref.max() >= L or self.stream_primary.max() >= L):
            raise ValueError("stream index out of range")

    # --- sizes and derived figures ---------------------------------------------------------
    @property
    def n_parts(self) -> int:
        return len(self.part_ids)

    @property
    def n_locations(self) -> int:
        return len(self.location_ids)

    @property
    def n_classes(self) -> int:
        return len(self.class_tier)

    @property
    def hq_resupply_days(self) -> np.ndarray:
        """(P,) mean HQ resupply time in days: y*T_rep + (1-y)*T_proc, or T_proc if consumable."""
        rep = self.repair_yield * self.repair_turnaround_days + (
            1 - self.repair_yield) * self.procurement_lead_time_days
        return np.where(self.repairable, rep, self.procurement_lead_time_days)

    @property
    def class_constrained(self) -> np.ndarray:
        """(C,) bool: the class has a part deadline and therefore a target to meet."""
        return ~np.isnan(self.class_target)

    @property
    def class_demand_per_year(self) -> np.ndarray:
        """(C,) in-service demand rate per class (units per year)."""
        w = np.where(self.stream_in_service, self.stream_rate_per_year, 0.0)
        return np.bincount(self.stream_class, weights=w, minlength=self.n_classes)

    @property
    def depth_order(self) -> np.ndarray:
        """Location indices sorted so that every parent comes before its children."""
        depth = np.zeros(self.n_locations, dtype=np.int64)
        for j in range(1, self.n_locations):
            d, k = 0, j
            while self.parent[k] >= 0:
                k, d = self.parent[k], d + 1
            depth[j] = d
        return np.argsort(depth, kind="stable")

    @property
    def capped(self) -> np.ndarray:
        """(L,) bool: the location has a unit or value cap."""
        return np.isfinite(self.cap_units) | np.isfinite(self.cap_value)

    def capacity_use(self, part: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(units, value)`` (M, L) that the stock vectors ``levels`` (M, L) of parts ``part``
        (M,) take of each location's unit and value caps."""
        units = np.asarray(levels, dtype=float)
        return units, units * self.unit_cost[np.asarray(part, dtype=np.int64)][:, None]

    def class_label(self, c: int) -> str:
        return f"{self.class_tier[c]}/sev{int(self.class_severity[c])}"


def failing_base(scenario: Scenario
                 ) -> Iterator[tuple[InstalledBase, Part, Site, Contract, float]]:
    """The installed-base rows that fail at all, each with its part, site, the site's contract
    and its failures per year (``quantity x annual_failure_rate``), in scenario order."""
    for ib in scenario.installed_base:
        part = scenario.part(ib.part_id)
        rate = ib.rate_per_year(part)
        if rate <= 0:
            continue
        site = scenario.site(ib.site_id)
        yield ib, part, site, scenario.contract(site.contract_id), rate


def term_shares(contract: Contract, mix: Sequence[float]) -> list[tuple[SeverityTerm, float]]:
    """The contract's terms with the share of a site's failures raised at each severity: the
    scenario's ``severity_mix`` renormalised over the severities the contract has terms for
    (terms with no share left out; empty when none has a share)."""
    shares = np.array([mix[t.severity - 1] for t in contract.terms], dtype=float)
    if shares.sum() <= 0:
        return []
    shares = shares / shares.sum()
    return [(t, float(x)) for t, x in zip(contract.terms, shares, strict=True) if x > 0]


def service_classes(scenario: Scenario) -> tuple[dict[tuple[str, int], int], list[float]]:
    """Class index per (tier, severity), contracts in file order and their terms by severity, and
    each class's target: the strictest of its part-deadline terms (NaN: response milestone only)."""
    classes: dict[tuple[str, int], int] = {}
    targets: list[float] = []
    for contract in scenario.contracts:
        for term in sorted(contract.terms, key=lambda t: t.severity):
            key = (contract.tier, term.severity)
            if key not in classes:
                classes[key] = len(classes)
                targets.append(float("nan"))
            if term.milestone is not Milestone.RESPONSE:
                c = classes[key]
                targets[c] = term.target if np.isnan(targets[c]) else max(targets[c], term.target)
    return classes, targets


def build_problem(scenario: Scenario, reach: ReachLike) -> StockingProblem:
    """Aggregate the scenario's installed base into demand streams over the reach patterns.

    Each (site, part, severity) splits over the reach's patterns of that key (which depots are on
    time together at a request's moment, :func:`_pattern_prefs`): one stream per pattern with the
    pattern's share of the rate, so the model applies the dispatch engine's rule.

    The demand of a part at a site is ``quantity x annual_failure_rate`` per year, split over
    the contract's severities by ``settings.severity_mix`` (renormalised over the severities
    the contract has terms for). A class is (contract tier, severity); its target is the
    strictest (largest) target of the part-deadline terms of that tier and severity.

    Streams come in the order of their first (installed base row, term, pattern); rates add up in
    that order. The grouping runs on arrays (:func:`_pattern_prefs`, :func:`_first_unique_rows`).
    """
    hq = scenario.hq
    locs = [hq.depot_id] + [d.depot_id for d in scenario.depots if d.kind is not DepotKind.HQ]
    loc_ix = {d: i for i, d in enumerate(locs)}
    parent = np.array([-1] + [loc_ix[scenario.depot(d).parent_id] for d in locs[1:]], dtype=np.int64)
    transit = np.array([0.0] + [scenario.depot(d).replenishment_lead_time_days for d in locs[1:]])
    parts = scenario.parts
    classes, targets = service_classes(scenario)
    lists = _reach_lists(reach, loc_ix)
    rows = _demand_rows(scenario, reach, classes, loc_ix, lists)
    part, cls, primary, pref, in_service, rate = _aggregate(rows)
    width = max(1, int(lists.pref_len[pref].max()) if pref.size else 1)
    tiers = [k[0] for k in classes]
    sevs = [k[1] for k in classes]
    return StockingProblem(
        name=scenario.name,
        currency=scenario.currency,
        part_ids=np.array([p.part_id for p in parts], dtype=object),
        location_ids=np.array(locs, dtype=object),
        parent=parent,
        transit_days=transit,
        unit_cost=np.array([p.unit_cost for p in parts], dtype=float),
        repairable=np.array([p.repairable for p in parts], dtype=bool),
        repair_turnaround_days=np.array([p.repair_turnaround_days for p in parts], dtype=float),
        repair_yield=np.array([p.repair_yield for p in parts], dtype=float),
        procurement_lead_time_days=np.array([p.procurement_lead_time_days for p in parts], dtype=float),
        class_tier=np.array(tiers, dtype=object),
        class_severity=np.array(sevs, dtype=np.int64),
        class_target=np.array(targets, dtype=float),
        stream_part=part,
        stream_class=cls,
        stream_rate_per_year=rate,
        stream_primary=primary,
        stream_pref=lists.pref_loc[pref, :width],
        stream_p_on_time=lists.pref_p[pref, :width],
        stream_in_service=in_service,
        cap_units=np.array([_cap(scenario.depot(d).capacity_units) for d in locs]),
        cap_value=np.array([_cap(scenario.depot(d).capacity_value) for d in locs]),
    )


@dataclass(frozen=True)
class _Lists:
    """Preference lists of the reach keys as arrays.

    ``pref_loc`` / ``pref_p`` (Q, W): the distinct preference lists (location index, -1 padding;
    p_on_time, 0 padding), ``pref_len`` (Q,) their lengths. Key ``k``'s lists are the rows
    ``start[k]:start[k + 1]`` of ``weight`` (share of request instants) and ``pref`` (row of
    ``pref_loc``). ``key_of`` maps a reach key to ``k``; ``empty`` is the row of the empty list
    and ``only[l]`` the row of the list holding location ``l`` alone (p 1).
    """

    pref_loc: np.ndarray
    pref_p: np.ndarray
    pref_len: np.ndarray
    start: np.ndarray
    weight: np.ndarray
    pref: np.ndarray
    key_of: dict[tuple[str, int, str], int]
    empty: int
    only: np.ndarray


def _reach_lists(reach: ReachLike, loc_ix: Mapping[str, int]) -> _Lists:
    """The reach's keys with the preference list of each pattern (:func:`_pattern_prefs`, then
    :func:`_with_tails`), for all keys at once; a key without patterns is left out (as one with
    nothing in reach)."""
    key_of: dict[tuple[str, int, str], int] = {}
    entry_rows: list[list[int]] = []
    pat_key: list[int] = []
    pat_w: list[float] = []
    pat_mask: list[int] = []
    tail_rows: list[list[tuple[int, float]]] = []  # per pattern: (location, share) of its tail
    tails = reach.tails or [()] * len(reach.keys)
    for key, entries, patterns, tail in zip(reach.keys, reach.entries, reach.patterns, tails,
                                            strict=True):
        if not patterns:
            key_of.pop(key, None)
            continue
        k = key_of[key] = len(entry_rows)  # a repeated key: the last one counts
        entry_rows.append([loc_ix[d] for d, _ in entries])
        for i, (w, mask) in enumerate(patterns):
            pat_key.append(k)
            pat_w.append(w)
            pat_mask.append(mask)
            tail_rows.append([(loc_ix[d], q[i]) for d, q in tail if q[i] > 0])
    L = len(loc_ix)
    n_keys = len(entry_rows)
    k_max = max([0] + [len(e) for e in entry_rows])
    entry = np.full((n_keys, k_max), -1, dtype=np.int64)
    for k, e in enumerate(entry_rows):
        entry[k, :len(e)] = e
    key = np.array(pat_key, dtype=np.int64)
    loc, n_on = _pattern_prefs(entry[key], np.array(pat_mask, dtype=np.int64))
    loc, p = _with_tails(loc, n_on, tail_rows)
    # the fixed lists first: the empty one, then each location alone
    fixed = np.full((1 + L, loc.shape[1] if loc.size else 1), -1, dtype=np.int64)
    fixed[1:, 0] = np.arange(L)
    fixed_p = np.zeros(fixed.shape)
    fixed_p[1:, 0] = 1.0
    w_all = max(loc.shape[1], fixed.shape[1])
    table = np.vstack([_pad(fixed, w_all), _pad(loc, w_all)])
    table_p = np.vstack([_pad(fixed_p, w_all, 0.0), _pad(p, w_all, 0.0)])
    first, inv = equal_rows([], [table, table_p.view(np.int64)])
    pref_loc, pref_p = table[first], table_p[first]
    pref_len = (pref_loc >= 0).sum(axis=1)
    pat_pref = inv[1 + L:]
    # equal lists of one key merge, their weights added in pattern order
    merged, m_inv = _first_unique_rows(np.column_stack([key, pat_pref]))
    weight = np.bincount(m_inv, weights=np.array(pat_w, dtype=float), minlength=len(merged))
    start = np.searchsorted(merged[:, 0], np.arange(n_keys + 1))
    return _Lists(pref_loc, pref_p, pref_len, start, weight, merged[:, 1], key_of,
                  int(inv[0]), inv[1:1 + L])


def _pad(a: np.ndarray, width: int, fill: float = -1) -> np.ndarray:
    out = np.full((a.shape[0], width), fill, dtype=a.dtype)
    out[:, :a.shape[1]] = a
    return out


def _with_tails(loc: np.ndarray, n_on: np.ndarray, tails: Sequence[Sequence[tuple[int, float]]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each pattern's list (``loc`` (M, W), its first ``n_on`` on time) with its tail
    (``tails[m]``: (location, on-time share) of the depots beyond the pattern's, in preference
    order) after the on-time entries: ``(loc (M, W + F), p_on_time (M, W + F))``. The engine
    takes the cheapest depot on time, so a tail depot (farther than the weighed ones) comes
    after them; whether it is on time within the pattern's instants is its share."""
    M, W = loc.shape
    n_tail = np.array([len(t) for t in tails], dtype=np.int64) if M else np.zeros(0, np.int64)
    F = int(n_tail.max()) if n_tail.size else 0
    p = (np.arange(W)[None, :] < n_on[:, None]).astype(float)
    if F == 0:
        return loc, p
    out = np.full((M, W + F), -1, dtype=np.int64)
    out_p = np.zeros((M, W + F))
    # the pattern's own entries: on-time ones in place, the late ones after the tail
    col = np.arange(W)[None, :] + np.where(np.arange(W)[None, :] >= n_on[:, None],
                                           n_tail[:, None], 0)
    rows = np.broadcast_to(np.arange(M)[:, None], (M, W))
    out[rows, col] = loc
    out_p[rows, col] = p
    t_row = np.repeat(np.arange(M), n_tail)
    t_col = n_on[t_row] + (np.arange(t_row.size) - np.repeat(np.cumsum(n_tail) - n_tail, n_tail))
    flat = [e for t in tails for e in t]
    out[t_row, t_col] = [e[0] for e in flat]
    out_p[t_row, t_col] = [e[1] for e in flat]
    return out, out_p


def _pattern_prefs(entry: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Preference list of each pattern: ``entry`` (M, K) location indices of the key's entries
    in preference order (-1 padding), ``mask`` (M,) the bits of the entries on time together.
    Returns ``(loc (M, W), n_on (M,))``: the on-time entries in entry order (p = 1), then at most
    :data:`MAX_LATE` others (p = 0: they ship late), -1 padding; the first ``n_on`` are on time.
    Every on-time depot is kept: a part may be stocked at none of the first few.

    Under the "first location with stock fills" semantics this is the dispatch rule: a request is
    on time when a depot on time at its moment has stock; otherwise it ships late from the next.
    """
    M, K = entry.shape
    valid = entry >= 0
    on = ((mask[:, None] >> np.arange(K, dtype=np.int64)[None, :]) & 1).astype(bool) & valid
    late = valid & ~on
    late_rank = np.cumsum(late, axis=1) - 1
    keep = on | (late & (late_rank < MAX_LATE))
    # stable sort: kept on-time entries, then kept late ones, then the rest
    group = np.where(on, 0, np.where(keep, 1, 2))
    order = np.argsort(group, axis=1, kind="stable")
    n_keep = keep.sum(axis=1)
    W = max(1, int(n_keep.max()) if M else 1)
    loc = np.take_along_axis(entry, order, axis=1)[:, :W]
    loc = np.where(np.arange(W)[None, :] < n_keep[:, None], loc, -1)
    return loc, on.sum(axis=1)


def _first_unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the int array ``a`` (M, W) in order of first appearance, and each row's
    index among them (:func:`equal_rows`)."""
    first, inverse = equal_rows([], [a])
    return a[first], inverse


def equal_rows(columns: Sequence[np.ndarray], blocks: Sequence[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal rows of the int ``columns`` (N,) and ``blocks`` (N, K) side by side:
    ``(first, inverse)``, the first row of each group (ascending) and each row's group. Rows are
    hashed (a block: its columns times odd random multipliers, summed; then a multiply-xorshift
    step per column or block) and every row is compared with its group's first, so the grouping
    is exact; on a hash collision the rows are grouped by a full sort instead."""
    blocks = [np.ascontiguousarray(b, dtype=np.int64) for b in blocks]
    n = len(columns[0]) if len(columns) else blocks[0].shape[0]
    h = np.zeros(n, dtype=np.uint64)
    parts = [np.asarray(c).astype(np.uint64) for c in columns] + [
        (b.view(np.uint64) * _BLOCK_MULT[np.arange(b.shape[1]) % _BLOCK_MULT.size]).sum(
            axis=1, dtype=np.uint64) for b in blocks]
    for c in parts:
        h *= _HASH_MULT
        h += c
        h ^= h >> np.uint64(29)
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    rep = first[inverse]
    same = np.ones(n, dtype=bool)
    for c in columns:
        same &= c[rep] == c
    for b in blocks:
        same &= (b[rep] == b).all(axis=1)
    if not same.all():
        key = np.ascontiguousarray(np.column_stack([*columns, *blocks]).astype(np.int64))
        rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    order = np.argsort(first, kind="stable")  # groups in order of their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse]


_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)
"""Odd 64-bit multiplier of the row hash (golden-ratio constant); arithmetic wraps mod 2^64."""
_BLOCK_MULT = np.random.default_rng(20261201).integers(
    0, 2 ** 63, size=512, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
"""Odd random multipliers of a block's columns in the row hash (a fixed seed: runs agree)."""


@dataclass(frozen=True)
class _Rows:
    """One row per (installed base row, term, pattern), in that order: the stream key columns
    (part, class, primary, pref row, in service) and the rate it adds (units per year)."""

    part: np.ndarray
    cls: np.ndarray
    primary: np.ndarray
    pref: np.ndarray
    in_service: np.ndarray
    rate: np.ndarray


def _demand_rows(scenario: Scenario, reach: ReachLike, classes: Mapping[tuple[str, int], int],
                 loc_ix: Mapping[str, int], lists: _Lists) -> _Rows:
    """Expand the installed base over its contract's terms and each term's preference lists."""
    part_ix = {p.part_id: i for i, p in enumerate(scenario.parts)}
    no_deadline = set(reach.no_part_deadline)
    mix = scenario.settings.severity_mix
    # per contract: its terms' (class, severity, share, response-milestone) rows
    term_rows: dict[str, tuple[int, int]] = {}  # contract -> (first row, count)
    t_cls: list[int] = []
    t_sev: list[int] = []
    t_share: list[float] = []
    t_resp: list[bool] = []
    ib_part, ib_primary, ib_rate, ib_first, ib_count = [], [], [], [], []
    ib_keys: list[int] = []  # per (row, term): the key index, -1 none, -2 not in service
    for _, part, site, contract, base_rate in failing_base(scenario):
        if contract.contract_id not in term_rows:
            shares = term_shares(contract, mix)
            term_rows[contract.contract_id] = (len(t_cls), len(shares))
            for term, share in shares:
                t_cls.append(classes[(contract.tier, term.severity)])
                t_sev.append(term.severity)
                t_share.append(float(share))
                t_resp.append(term.milestone is Milestone.RESPONSE)
        first, count = term_rows[contract.contract_id]
        size = str(SizeClass(part.size_class))
        for t in range(first, first + count):
            if t_resp[t] or (site.site_id, t_sev[t]) in no_deadline:
                ib_keys.append(-2)
            else:
                ib_keys.append(lists.key_of.get((site.site_id, t_sev[t], size), -1))
        ib_part.append(part_ix[part.part_id])
        ib_primary.append(loc_ix[site.primary_depot_id])
        ib_rate.append(base_rate)
        ib_first.append(first)
        ib_count.append(count)
    counts = np.array(ib_count, dtype=np.int64)
    ib = np.repeat(np.arange(counts.size), counts)  # per (row, term)
    term = (np.repeat(np.array(ib_first, dtype=np.int64), counts)
            + np.arange(ib.size) - np.repeat(np.cumsum(counts) - counts, counts))
    key = np.array(ib_keys, dtype=np.int64)
    primary = np.array(ib_primary, dtype=np.int64)[ib]
    # lists of each (row, term): the key's rows of `lists`; else one list of weight 1, the empty
    # one (nothing in reach) or the primary alone (not in service), appended after them
    n = lists.weight.size
    weight = np.concatenate([lists.weight, np.ones(1 + len(lists.only))])
    prefs = np.concatenate([lists.pref, [lists.empty], lists.only])
    safe = np.maximum(key, 0)
    first_list = np.where(key >= 0, lists.start[safe],
                          np.where(key == -1, n, n + 1 + primary))
    n_lists = np.where(key >= 0, lists.start[np.minimum(safe + 1, len(lists.start) - 1)]
                       - lists.start[safe], 1)
    row = np.repeat(np.arange(ib.size), n_lists)
    at = first_list[row] + np.arange(row.size) - np.repeat(np.cumsum(n_lists) - n_lists, n_lists)
    w, pref = weight[at], prefs[at]
    share = np.array(t_share, dtype=float)[term[row]]
    rate = np.array(ib_rate, dtype=float)[ib[row]] * share * w
    return _Rows(part=np.array(ib_part, dtype=np.int64)[ib[row]],
                 cls=np.array(t_cls, dtype=np.int64)[term[row]], primary=primary[row],
                 pref=pref, in_service=key[row] != -2, rate=rate)


def _aggregate(rows: _Rows) -> tuple[np.ndarray, ...]:
    """Streams: rows with equal keys merged, in order of first appearance, rates added in row
    order. Returns (part, class, primary, pref row, in service, rate per year)."""
    cols = np.column_stack([rows.part, rows.cls, rows.primary, rows.pref,
                            rows.in_service.astype(np.int64)])
    uniq, inv = _first_unique_rows(cols)
    rate = np.bincount(inv, weights=rows.rate, minlength=len(uniq))
    part, cls, primary, pref, in_service = (np.ascontiguousarray(c) for c in uniq.T)
    return part, cls, primary, pref, in_service.astype(bool), rate


def _cap(value: float | None) -> float:
    return float("inf") if value is None else float(value)
