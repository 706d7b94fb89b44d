"""Build time of the travel network and of reach on a cn-telecom-sized synthetic network.

Usage: ``python benchmarks/travel_reach.py [--depots 33] [--sites 1500] [--scenario NAME]``.
With ``--scenario`` the bundled scenario (``scenarios.load``) is used instead of the synthetic one.

Side by side: ``python benchmarks/travel_reach.py --compare OLD_TREE [--rounds 2]`` builds the reach
of bundled cn-telecom and of cn-telecom with its 140 candidates open (174 locations), each in a
fresh process, alternating between ``OLD_TREE`` (e.g. ``git worktree add /tmp/old-d HEAD``) and
this checkout, and prints the times, the old/new ratio and whether the two reaches are identical.
"""

from __future__ import annotations

import argparse
import sys
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inventory.domain import (  # noqa: E402
    ClockStart,
    Contract,
    Depot,
    DepotKind,
    Hub,
    Milestone,
    Part,
    Scenario,
    Settings,
    SeverityTerm,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
    WeeklyHours,
    WindowKind,
)
from optimizer.deadlines import compute_deadline  # noqa: E402
from optimizer.reach import build_reach  # noqa: E402
from optimizer.travel import TravelNetwork  # noqa: E402


def synthetic(n_depots: int, n_sites: int, seed: int = 1) -> Scenario:
    """Depots and sites scattered over eastern China; 4 contracts; 15 hubs; 4 modes."""
    rng = np.random.default_rng(seed)
    bh = WeeklyHours.parse("mon-fri 08:00-18:00")
    dl = np.c_[rng.uniform(22, 42, n_depots), rng.uniform(102, 122, n_depots)]
    depots = [Depot("HQ", "HQ", DepotKind.HQ, 31.2, 121.4, "Asia/Shanghai", "CN", WeeklyHours(), None, 0)]
    depots += [Depot(f"D{i}", f"D{i}", DepotKind.REGIONAL, float(a), float(b), "Asia/Shanghai", "CN",
                     WeeklyHours() if i % 3 == 0 else bh, "HQ", 2) for i, (a, b) in enumerate(dl[1:])]
    sl = dl[rng.integers(0, n_depots, n_sites)] + rng.normal(0, 0.8, (n_sites, 2))
    dist = ((dl[None, :, :] - sl[:, None, :]) ** 2).sum(axis=2)
    prim = dist.argmin(axis=1)
    terms = lambda cov, h: (  # noqa: E731
        SeverityTerm(1, WindowKind.HOURS, h, 0.95, Milestone.PART_ON_SITE, ClockStart.TICKET_OPENED, cov),
        SeverityTerm(2, WindowKind.HOURS, 24, 0.95, Milestone.PART_ON_SITE, ClockStart.TICKET_OPENED, cov),
        SeverityTerm(3, WindowKind.BUSINESS_DAYS, 1, 0.9, Milestone.PART_ON_SITE, ClockStart.TICKET_OPENED,
                     bh, time(16)),
        SeverityTerm(4, WindowKind.HOURS, 1, 0.9, Milestone.RESPONSE, ClockStart.TICKET_OPENED, cov))
    contracts = [Contract(n, n, n, terms(c, h)) for n, c, h in
                 (("platinum", WeeklyHours(), 4), ("gold", WeeklyHours(), 8), ("silver", bh, 8),
                  ("basic", bh, 16))]
    names = [c.contract_id for c in contracts]
    sites = [Site(f"S{j}", f"S{j}", "c", float(np.clip(a, -89, 89)), float(b), "Asia/Shanghai", "CN",
                  names[j % 4], depots[prim[j]].depot_id) for j, (a, b) in enumerate(sl)]
    hl = dl[rng.choice(n_depots, 15, replace=False)]
    hubs = [Hub(f"H{k}", f"H{k}", float(a), float(b), "Asia/Shanghai") for k, (a, b) in enumerate(hl)]
    allc = frozenset(SizeClass)
    modes = (TransportMode("courier", "c", TransportKind.COURIER, 70, 50, 2, WeeklyHours(), allc),
             TransportMode("parcel", "p", TransportKind.PARCEL, 60, 10, .1, bh,
                           frozenset({SizeClass.SMALL, SizeClass.MEDIUM}), time(17), time(10)),
             TransportMode("air", "a", TransportKind.AIR, 700, 300, 2, WeeklyHours(),
                           frozenset({SizeClass.SMALL}), min_distance_km=600, handling_hours=1),
             TransportMode("van", "v", TransportKind.VAN_RUN, 50, 20, .5,
                           WeeklyHours.parse("mon-sat 07:00-19:00"), allc))
    parts = (Part("P", "P", 100, False, 0, 0, 30, SizeClass.SMALL, 0.1),)
    return Scenario("bench", "CNY", 365, Settings(max_service_radius_km=5000), parts, tuple(depots),
                    tuple(sites), tuple(contracts), (), modes, hubs=tuple(hubs))


WORKER = """
import hashlib, sys, time
sys.path.insert(0, sys.argv[1])
import scenarios
from optimizer.reach import build_reach
from optimizer.travel import TravelNetwork
sc = scenarios.load("cn-telecom")
if sys.argv[2] == "all-candidates":
    sc = sc.with_design([c.candidate_id for c in sc.candidates])
net = TravelNetwork(sc)
t = time.perf_counter()
r = build_reach(sc, net)
dt = time.perf_counter() - t
digest = hashlib.sha256(repr((r.keys, r.entries, r.patterns, r.no_part_deadline)).encode())
print(dt, digest.hexdigest())
"""


def compare(old_tree: str, rounds: int) -> None:
    """Old and new reach builds alternately, each in a fresh process (cold caches)."""
    import statistics
    import subprocess

    new_tree = str(Path(__file__).resolve().parents[1])
    for network in ("bundled", "all-candidates"):
        times: dict[str, list[float]] = {"old": [], "new": []}
        digests: dict[str, set[str]] = {"old": set(), "new": set()}
        for _ in range(rounds):
            for which, tree in (("old", old_tree), ("new", new_tree)):
                out = subprocess.run([sys.executable, "-c", WORKER, tree, network], check=True,
                                     capture_output=True, text=True, cwd=tree).stdout.split()
                times[which].append(float(out[0]))
                digests[which].add(out[1])
                print(f"  {network:15s} {which}: {float(out[0]):7.2f} s", flush=True)
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        same = digests["old"] == digests["new"] and len(digests["new"]) == 1
        print(f"{network}: old {old:.2f} s, new {new:.2f} s (medians of {rounds}), "
              f"old/new {old / new:.2f}x, identical reach: {same}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depots", type=int, default=33)
    ap.add_argument("--sites", type=int, default=1500)
    ap.add_argument("--scenario")
    ap.add_argument("--compare", metavar="OLD_TREE", help="time this checkout against OLD_TREE")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    if a.compare:
        compare(a.compare, a.rounds)
        return
    if a.scenario:
        import scenarios
        sc = scenarios.load(a.scenario)
    else:
        sc = synthetic(a.depots, a.sites)
    t0 = clock.perf_counter()
    net = TravelNetwork(sc)
    t1 = clock.perf_counter()
    reach = build_reach(sc, net)
    t2 = clock.perf_counter()
    print(f"{len(sc.depots)} depots x {len(sc.sites)} sites, {len(sc.hubs)} hubs: "
          f"network {t1 - t0:.2f} s, reach {t2 - t1:.2f} s, {len(reach.keys)} keys, "
          f"{sum(map(len, reach.entries))} (key, depot) pairs")
    rng = np.random.default_rng(2)
    start = datetime(2025, 3, 3, tzinfo=UTC)
    asks = [(sc.depots[rng.integers(len(sc.depots))], sc.sites[rng.integers(len(sc.sites))],
             start + timedelta(minutes=int(rng.integers(0, 60 * 24 * 28)))) for _ in range(2000)]
    t3 = clock.perf_counter()
    for d, s, t in asks:
        net.options(d.depot_id, s.site_id, sc.parts[0], t)
    t4 = clock.perf_counter()
    for _, s, t in asks:
        c = sc.contract(s.contract_id)
        for term in c.terms:
            compute_deadline(term, s, c, reported_at=t)
    t5 = clock.perf_counter()
    print(f"options() per (depot, site, part): {(t4 - t3) / len(asks) * 1e3:.3f} ms; "
          f"compute_deadline per term: {(t5 - t4) / (4 * len(asks)) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
