"""Small random stocking problems built directly as arrays (no scenario, no reach)."""

from __future__ import annotations

import numpy as np

from optimizer.stocking.problem import StockingProblem


def random_problem(seed: int, n_parts: int = 4, n_depots: int = 3, n_sites: int = 8,
                   tiers: tuple[str, ...] = ("gold", "silver"), max_pref: int = 3,
                   rate_scale: float = 2.0, monotone_p: bool = True,
                   targets: tuple[float, ...] = (0.9, 0.8)) -> StockingProblem:
    """A two-echelon problem: HQ + ``n_depots`` depots, one class per tier (severity 1).

    Each site picks a tier, a primary depot and a preference list (primary first, then random
    other locations, the HQ included); p_on_time is non-increasing along the list when
    ``monotone_p`` (the case where more stock never lowers service).
    """
    rng = np.random.default_rng(seed)
    L = n_depots + 1
    streams = []
    for _ in range(n_sites):
        c = int(rng.integers(len(tiers)))
        primary = int(rng.integers(1, L))
        others = [j for j in range(L) if j != primary]
        rng.shuffle(others)
        k = int(rng.integers(0, max_pref))
        pref = [primary, *others[:k]]
        p = np.sort(rng.uniform(0.5, 1.0, len(pref)))[::-1] if monotone_p else rng.uniform(
            0.3, 1.0, len(pref))
        for part in range(n_parts):
            if rng.random() < 0.7:
                streams.append((part, c, rng.uniform(0.2, 1.0) * rate_scale, primary, pref, p))
    K = max(len(s[4]) for s in streams)
    pref = np.full((len(streams), K), -1, dtype=np.int64)
    pot = np.zeros((len(streams), K))
    for i, s in enumerate(streams):
        pref[i, :len(s[4])] = s[4]
        pot[i, :len(s[4])] = s[5]
    rep = rng.random(n_parts) < 0.6
    return StockingProblem(
        name=f"random-{seed}", currency="EUR",
        part_ids=np.array([f"P{i}" for i in range(n_parts)], dtype=object),
        location_ids=np.array(["HQ"] + [f"D{j}" for j in range(1, L)], dtype=object),
        parent=np.array([-1] + [0] * n_depots, dtype=np.int64),
        transit_days=np.array([0.0] + list(rng.uniform(1, 5, n_depots))),
        unit_cost=rng.uniform(50, 2000, n_parts).round(2),
        repairable=rep,
        repair_turnaround_days=rng.uniform(10, 30, n_parts),
        repair_yield=np.where(rep, rng.uniform(0.7, 0.95, n_parts), 0.0),
        procurement_lead_time_days=rng.uniform(20, 60, n_parts),
        class_tier=np.array(list(tiers), dtype=object),
        class_severity=np.ones(len(tiers), dtype=np.int64),
        class_target=np.array(list(targets[:len(tiers)]), dtype=float),
        stream_part=np.array([s[0] for s in streams], dtype=np.int64),
        stream_class=np.array([s[1] for s in streams], dtype=np.int64),
        stream_rate_per_year=np.array([s[2] for s in streams]),
        stream_primary=np.array([s[3] for s in streams], dtype=np.int64),
        stream_pref=pref, stream_p_on_time=pot,
        stream_in_service=np.ones(len(streams), dtype=bool),
    )
