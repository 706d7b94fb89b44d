"""Network design: the integrated solver on cn-telecom and on small generated instances.

    python benchmarks/design.py --scenario cn-telecom --out /tmp/design-cn
    python benchmarks/design.py --generated 20

``--scenario``: the whole ``spares plan --design`` pipeline (reach with every candidate open,
integrated design, sequential and existing-network baselines, the plan on the designed network)
with its wall time and peak memory (this process and its local cluster's worker processes),
costs, the coverage bound and gap, and the service per class before and after.

``--generated N``: N small generated scenarios with candidates and sites spread wide of the depots
(``--spread-km``), designed by ``plan_design(method="exact")`` (the integrated design, then its
certificate: a MIP over every design with every stock vector of a growing box plus columns that
stand for every vector outside it, :mod:`optimizer.design.certify`) and checked against an
independent enumeration: every subset of the switchable locations, each stocked by the exact
stocking solver in the box "integrated master's levels + 2". Reports the certified gap, the exact
design's distance to the enumeration (<= 0: the enumeration is confined to its box), the
integrated master's distance to it, the sequential baseline's, and the gap the pipeline reports
for the chosen network stocked on its own reach.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np

import scenarios
from optimizer.design import solve_design
from optimizer.design.exact import exact_box
from optimizer.design.io import write_design
from optimizer.design.plan import plan_design
from optimizer.stocking.cluster import connect
from optimizer.stocking.exact import solve_exact
from optimizer.stocking.targets import class_ceiling, target_plan
from scenarios.generator import generate


def _peak_gib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 2**20


def bench_scenario(name: str, out: str | None, cluster: str | None) -> None:
    sc = scenarios.load(name)
    t = time.perf_counter()
    with connect(cluster, use_env=False) as where:
        d = plan_design(sc, cluster=where)
    wall = time.perf_counter() - t
    c, cur = d.chosen, d.plan.currency
    design_s = sum(v for k, v in d.timings.items() if k != "existing network")
    print(f"{name}: {len(sc.candidates)} candidates; design + stock (reach, the locate-then-stock "
          f"plan that seeds the design, the design, the chosen network stocked) {design_s:.1f} s; "
          f"with the existing network {wall:.1f} s; peak {_peak_gib():.2f} GiB (largest process)")
    print(f"  opened {len(d.opened)}: {', '.join(d.opened)}; closed {d.closed or 'none'}")
    print(f"  yearly {c.yearly_cost:,.0f} {cur} = fixed {c.fixed_cost:,.0f} + carrying "
          f"{d.problem.carrying_rate:.0%} x {c.plan.investment:,.0f}; bound {d.bound:,.0f}, gap "
          f"{'n/a' if d.gap is None else f'{d.gap:.2%}'}; master design "
          f"{d.design.yearly_cost:,.0f}")
    for b in (d.sequential, d.before):
        if b is not None:
            print(f"  {b.name}: {b.yearly_cost:,.0f} (opened {len(b.opened)}; the design saves "
                  f"{1 - c.yearly_cost / b.yearly_cost:.1%}), all targets met {b.feasible}")
    before = None if d.before is None else d.before.plan.class_on_time
    for k in range(len(d.plan.class_tier)):
        print(f"  {d.plan.class_tier[k]}/sev{d.plan.class_severity[k]} target "
              f"{d.plan.class_target[k]:.2%} before "
              f"{before[k] if before is not None else float('nan'):.2%} after "
              f"{d.plan.class_on_time[k]:.2%} met {bool(d.plan.class_met[k])}")
    print("  timings:", {k: round(v, 1) for k, v in d.timings.items()})
    print("  master timings:", {k: round(v, 1) for k, v in d.design.timings.items()})
    for b in (d.sequential, c, d.before):
        if b is not None:
            print(f"  {b.name} stocking timings:", {k: round(v, 1) for k, v in b.plan.timings.items()})
    for note in d.notes:
        print("  note:", note)
    for note in d.design.notes:
        if "master MIP" in note:
            print("  design:", note)
    if out:
        write_design(d, out)
        print(f"  written to {out}")


def enumerated_design(dp, box: np.ndarray, aimed: np.ndarray) -> float:
    """The cheapest yearly cost over every subset of the switchable locations, each stocked by the
    exact stocking solver within ``box`` (P, L) at its open locations for the shares ``aimed``:
    an independent route to the exact design's optimum (designs whose stock overfills a unit
    capacity are skipped)."""
    pr = dp.stocking
    sw = np.nonzero(dp.switchable)[0]
    best = np.inf
    for bits in itertools.product((False, True), repeat=len(sw)):
        is_open = ~dp.switchable.copy()
        is_open[sw] = bits
        try:
            x = solve_exact(pr, np.where(is_open[None, :], box, 0), targets=aimed)
        except ValueError:
            continue
        caps = np.nonzero(np.isfinite(dp.cap_units) & is_open)[0]
        if any(x.levels[:, j].sum() > dp.cap_units[j] for j in caps):
            continue
        best = min(best, dp.yearly_cost(x.levels, is_open)[0])
    return best


def bench_generated(n: int, parts: int, depots: int, sites: int, candidates: int,
                    spread: float) -> None:
    rows = []
    for seed in range(n):
        sc = generate(parts, depots, sites, seed, candidates=candidates, site_spread_km=spread)
        t = time.perf_counter()
        d = plan_design(sc, method="exact", with_before=False)
        secs = time.perf_counter() - t
        dp, ex = d.problem, d.design
        heur = solve_design(dp, with_bound=False)
        box = exact_box(heur.levels)
        t = time.perf_counter()
        enum = enumerated_design(dp, box, ex.aimed_at)
        full_aims = target_plan(dp.stocking, class_ceiling(
            dp.stocking, np.ones(dp.stocking.n_locations, dtype=bool))).aimed_at
        lowered = bool(np.any(ex.aimed_at < np.nan_to_num(full_aims, nan=-1.0) - 1e-9))
        enum_s = time.perf_counter() - t
        seq = d.sequential.yearly_cost if d.sequential is not None else np.nan
        opened = int((ex.open & dp.is_candidate).sum())
        heur_ok = heur.evaluation.meets_targets(dp.stocking, ex.aimed_at)  # the design's aims
        rows.append((ex.gap, ex.yearly_cost / enum - 1,
                     heur.yearly_cost / ex.yearly_cost - 1 if heur_ok else np.nan,
                     seq / d.yearly_cost - 1, np.nan if d.gap is None else d.gap, opened, secs,
                     enum_s))
        master = (f"{heur.yearly_cost:,.0f} ({rows[-1][2]:+.2%})" if heur_ok else
                  f"{heur.yearly_cost:,.0f} missing a target ({'; '.join(heur.notes)})")
        gap = "n/a (it aims lower)" if d.gap is None else f"{d.gap:.3%}"
        print(f"seed {seed}: exact design {ex.yearly_cost:,.0f} (opens {opened}, certified gap "
              f"{ex.gap:.1e}{', aims lowered to what the pool reaches' if lowered else ''}), "
              f"enumeration at the same aims {enum:,.0f} ({rows[-1][1]:+.1e}); integrated master "
              f"{master}; chosen network stocked on its own "
              f"reach {d.yearly_cost:,.0f}, gap to the bound {gap}; sequential {seq:,.0f} "
              f"({rows[-1][3]:+.2%}); {secs:.1f} s (enumeration {enum_s:.1f} s)", flush=True)
    a = np.array(rows, dtype=float)
    print(f"{n} instances, {int((a[:, 5] > 0).sum())} open a candidate: certified gap worst "
          f"{a[:, 0].max():.1e}; exact vs enumeration worst {np.abs(a[:, 1]).max():.1e}; "
          f"integrated master alone above the exact design mean {np.nanmean(a[:, 2]):+.2%} worst "
          f"{np.nanmax(a[:, 2]):+.2%} ({int(np.isnan(a[:, 2]).sum())} missing a target); "
          f"sequential above the chosen design mean {np.nanmean(a[:, 3]):+.2%} "
          f"worst {np.nanmax(a[:, 3]):+.2%}; reported gap of the chosen plan mean "
          f"{np.nanmean(a[:, 4]):.3%} worst {np.nanmax(a[:, 4]):.3%} ({int(np.isnan(a[:, 4]).sum())} "
          f"not comparable); mean {a[:, 6].mean():.1f} s per design")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--cluster", default="local:2",
                    help="where the pricing runs: local:N, tcp://host:8786 or none")
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--parts", type=int, default=5)
    ap.add_argument("--depots", type=int, default=3)
    ap.add_argument("--sites", type=int, default=12)
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--spread-km", type=float, default=250.0,
                    help="sd of a generated site's distance from its depot (wide: out of reach)")
    a = ap.parse_args()
    if a.scenario:
        bench_scenario(a.scenario, a.out, a.cluster)
    if a.generated:
        bench_generated(a.generated, a.parts, a.depots, a.sites, a.candidates, a.spread_km)


if __name__ == "__main__":
    main()
