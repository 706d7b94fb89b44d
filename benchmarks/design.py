"""Network design: the integrated solver on cn-telecom and on small generated instances.

    python benchmarks/design.py --scenario cn-telecom --out /tmp/design-cn
    python benchmarks/design.py --generated 20

``--scenario``: the whole ``spares plan --design`` pipeline (reach with every candidate open,
integrated design, sequential and existing-network baselines, the plan on the designed network)
with its wall time and peak memory (this process and its pricing workers), costs, the coverage
bound and gap, and the service per class before and after.

``--generated N``: N small generated scenarios with candidates; the design (``plan_design``, and
the integrated master alone) against an exact search: every subset of the switchable locations,
each with the exact stocking (every stock vector in the box 0..``--box`` at every allowed
location, multiple-choice knapsack MIP; designs whose exact stock overfills a capacity skipped).
Reports the distance to that optimum, the sequential baseline's, and the coverage bound's gap.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import time

import numpy as np

import scenarios
from optimizer.design import solve_design
from optimizer.design.io import write_design
from optimizer.design.plan import plan_design
from optimizer.stocking.exact import solve_exact
from optimizer.stocking.targets import class_ceiling, target_plan
from scenarios.generator import generate


def _peak_gib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 2**20


def bench_scenario(name: str, out: str | None, workers: int) -> None:
    sc = scenarios.load(name)
    t = time.perf_counter()
    d = plan_design(sc, workers=workers)
    wall = time.perf_counter() - t
    c, cur = d.chosen, d.plan.currency
    design_s = sum(v for k, v in d.timings.items() if k in ("reach and problem", "integrated design",
                                                             "stock on the design"))
    print(f"{name}: {len(sc.candidates)} candidates; design + stock {design_s:.1f} s, with the "
          f"baselines {wall:.1f} s; peak {_peak_gib():.2f} GiB (largest process)")
    print(f"  opened {len(d.opened)}: {', '.join(d.opened)}; closed {d.closed or 'none'}")
    print(f"  yearly {c.yearly_cost:,.0f} {cur} = fixed {c.fixed_cost:,.0f} + carrying "
          f"{d.problem.carrying_rate:.0%} x {c.plan.investment:,.0f}; bound {d.bound:,.0f}, gap "
          f"{d.gap:.2%}; master design {d.design.yearly_cost:,.0f}")
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
    for note in d.notes:
        print("  note:", note)
    if out:
        write_design(d, out)
        print(f"  written to {out}")


def exact_design(dp, box: int) -> tuple[float, np.ndarray]:
    """The cheapest yearly cost over every subset of switchable locations, each stocked exactly
    within the box; returns (cost, open mask)."""
    pr = dp.stocking
    sw = np.nonzero(dp.switchable)[0]
    best, best_open = np.inf, None
    for bits in itertools.product((False, True), repeat=len(sw)):
        is_open = ~dp.switchable.copy()
        is_open[sw] = bits
        tp = target_plan(pr, class_ceiling(pr, is_open))
        upper = np.where(is_open[None, :], box, 0).repeat(pr.n_parts, axis=0)
        try:
            x = solve_exact(pr, upper, targets=tp.aimed_at)
        except ValueError:
            continue
        over = False
        for j in np.nonzero(np.isfinite(dp.cap_units) & is_open)[0]:
            over |= x.levels[:, j].sum() > dp.cap_units[j]
        if over:  # the exact stocking has no capacity rows: skip designs it would overfill
            continue
        cost = dp.yearly_cost(x.levels, is_open)[0]
        if cost < best:
            best, best_open = cost, is_open
    return best, best_open


def bench_generated(n: int, parts: int, depots: int, sites: int, candidates: int, box: int) -> None:
    rows = []
    for seed in range(n):
        sc = generate(parts, depots, sites, seed, candidates=candidates)
        t = time.perf_counter()
        d = plan_design(sc, with_before=False)
        secs = time.perf_counter() - t
        dp = d.problem
        master = solve_design(dp, with_bound=False)
        opt, _ = exact_design(dp, box)
        seq = d.sequential.yearly_cost
        rows.append((d.yearly_cost / opt - 1, seq / opt - 1, d.gap, secs,
                     master.yearly_cost / opt - 1, len(d.opened)))
        print(f"seed {seed}: design {d.yearly_cost:,.0f} (opened {len(d.opened)}) exact {opt:,.0f} "
              f"({rows[-1][0]:+.3%}), master alone {rows[-1][4]:+.2%}, sequential {seq:,.0f} "
              f"({rows[-1][1]:+.2%}), bound gap {d.gap:.2%}, {secs:.1f} s")
    a = np.array(rows)
    print(f"{n} instances: design vs exact mean {a[:, 0].mean():+.3%} worst {a[:, 0].max():+.3%} "
          f"(master alone mean {a[:, 4].mean():+.2%} worst {a[:, 4].max():+.2%}); sequential vs "
          f"exact mean {a[:, 1].mean():+.2%} worst {a[:, 1].max():+.2%}; coverage-bound gap mean "
          f"{a[:, 2].mean():.2%} worst {a[:, 2].max():.2%}; {int((a[:, 5] > 0).sum())} instances "
          f"open a candidate; mean {a[:, 3].mean():.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--generated", type=int, default=0)
    ap.add_argument("--parts", type=int, default=5)
    ap.add_argument("--depots", type=int, default=3)
    ap.add_argument("--sites", type=int, default=12)
    ap.add_argument("--candidates", type=int, default=3)
    ap.add_argument("--box", type=int, default=3)
    a = ap.parse_args()
    if a.scenario:
        bench_scenario(a.scenario, a.out, a.workers)
    if a.generated:
        bench_generated(a.generated, a.parts, a.depots, a.sites, a.candidates, a.box)


if __name__ == "__main__":
    main()
