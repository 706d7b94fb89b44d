"""Solomon VRPTW benchmark for both routing solvers, printed as Markdown for BENCHMARKS.md.

Usage::

    python benchmarks/solomon.py [--instances ../shared/data/solomon] [--seconds 10]
        [--only C101,R101,...] [--solvers pyvrp,ortools] [--out /tmp/solomon-bench] [--seed 0]

Every solution is verified by the independent checker (``feasible`` column). Per solver it writes
``<out>/<solver>/results.csv`` and one ``.sol`` per instance, the same files as
``spares bench solomon``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer.routing.benchmark import BenchRow, instance_paths, run_solomon  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=ROOT.parent / "shared/data/solomon")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", default="", help="comma-separated instance names (default all)")
    parser.add_argument("--solvers", default="pyvrp,ortools")
    parser.add_argument("--out", type=Path, default=Path("/tmp/solomon-bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1,
                        help="PyVRP: seeds run side by side (one process each), best kept")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or None
    paths = instance_paths(args.instances, names)
    results: dict[str, list[BenchRow]] = {}
    for solver in args.solvers.split(","):
        print(f"{solver}: {len(paths)} instances x {args.seconds:g} s", file=sys.stderr)
        results[solver] = run_solomon(
            paths,
            seconds=args.seconds,
            out_dir=args.out / solver,
            solver=solver,
            seed=args.seed,
            seeds=args.seeds if solver == "pyvrp" else 1,
            bks_path=args.instances / "bks.csv",
            on_done=lambda r: print(f"  {r.instance} {r.cost} gap {r.gap_pct}%", file=sys.stderr),
        )
    print(markdown(results))


def markdown(results: dict[str, list[BenchRow]]) -> str:
    """Summary table per solver, then cost/gap per instance side by side."""
    solvers = list(results)
    lines = [
        "| solver | instances | checker-feasible | mean gap % | max gap % | within 1 % of BKS |",
        "|---|---|---|---|---|---|",
    ]
    for solver, rows in results.items():
        gaps = [r.gap_pct for r in rows if r.gap_pct is not None]
        lines.append(
            f"| {solver} | {len(rows)} | {sum(r.feasible for r in rows)} | "
            f"{sum(gaps) / len(gaps):.2f} | {max(gaps):.2f} | {sum(g <= 1.0 for g in gaps)} |"
        )
    lines += ["", "| instance | BKS | " + " | ".join(f"{s} cost (routes) | gap %" for s in solvers) + " |"]
    lines.append("|---|---|" + "---|---|" * len(solvers))
    by_instance = {s: {r.instance: r for r in rows} for s, rows in results.items()}
    for row in results[solvers[0]]:
        cells = []
        for s in solvers:
            r = by_instance[s][row.instance]
            cells.append(f"{r.cost:.1f} ({r.routes}){'' if r.feasible else ' INFEASIBLE'} | {r.gap_pct:.2f}")
        lines.append(f"| {row.instance} | {row.bks} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
