"""Compare PyVRP releases on Solomon instances with the library alone (no project code).

Run it with the Python of a virtual environment that holds the PyVRP release to measure, e.g.::

    python3 -m venv /tmp/pv14 && /tmp/pv14/bin/pip install pyvrp==0.14.1
    /tmp/pv14/bin/python benchmarks/pyvrp_versions.py --seconds 10 --seeds 0,1 --only R108,RC108

``--params`` passes search parameters to releases from 0.13 on (iterated local search), as JSON
with the keys ``ils``, ``neighbourhood``, ``perturbation`` and ``penalty``, each a dict of that
parameter class's fields, e.g. ``'{"neighbourhood": {"num_neighbours": 30}}'``.

Each seed is solved in its own process, side by side (one per core), so two seeds take the wall
time of one. Distances follow the DIMACS convention (``round_func="dimacs"``: truncated to one
decimal, solved in integer tenths). Prints one line per instance and seed, then the mean gap per
seed and of the best of the seeds, against ``bks.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pyvrp
import pyvrp.stop

ROOT = Path(__file__).resolve().parents[1]


def solve_params(spec: dict[str, dict[str, Any]]) -> Any:
    """``pyvrp.SolveParams`` of an iterated-local-search release (0.13+) from ``--params``."""
    from pyvrp import IteratedLocalSearchParams, PenaltyParams, SolveParams
    from pyvrp.search import NeighbourhoodParams, PerturbationParams

    unknown = set(spec) - {"ils", "neighbourhood", "perturbation", "penalty"}
    if unknown:
        raise SystemExit(f"--params: unknown key(s) {sorted(unknown)}")
    return SolveParams(ils=IteratedLocalSearchParams(**spec.get("ils", {})),
                       penalty=PenaltyParams(**spec.get("penalty", {})),
                       neighbourhood=NeighbourhoodParams(**spec.get("neighbourhood", {})),
                       perturbation=PerturbationParams(**spec.get("perturbation", {})))


def solve_one(args: tuple[Path, float, int, str]) -> tuple[str, int, float, bool, int]:
    """(instance, seed, cost in DIMACS distance, feasible, iterations) of one run."""
    path, seconds, seed, params = args
    data = pyvrp.read(str(path), round_func="dimacs")
    extra = {"params": solve_params(json.loads(params))} if params else {}
    result = pyvrp.solve(data, pyvrp.stop.MaxRuntime(seconds), seed=seed, collect_stats=False,
                         **extra)
    return path.stem.upper(), seed, result.best.distance() / 10, result.best.is_feasible(), \
        result.num_iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, default=ROOT.parent / "shared/data/solomon")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, run side by side")
    parser.add_argument("--only", default="", help="comma-separated instance names (default all)")
    parser.add_argument("--params", default="", help="JSON search parameters (0.13+ only)")
    args = parser.parse_args()
    bks = {r["instance"].upper(): float(r["cost"])
           for r in csv.DictReader((args.instances / "bks.csv").open())}
    names = [n.strip().upper() for n in args.only.split(",") if n.strip()] or sorted(bks)
    seeds = [int(s) for s in args.seeds.split(",")]
    gaps: dict[int, dict[str, float]] = {s: {} for s in seeds}
    with ProcessPoolExecutor(max_workers=len(seeds)) as pool:
        for name in names:
            path = args.instances / f"{name}.vrp"
            for inst, seed, cost, feasible, iters in pool.map(
                    solve_one, [(path, args.seconds, s, args.params) for s in seeds]):
                gap = 100 * (cost - bks[inst]) / bks[inst]
                gaps[seed][inst] = gap if feasible else float("inf")
                print(f"{inst} seed {seed}: {cost:.1f} gap {gap:.3f} % "
                      f"{'feasible' if feasible else 'INFEASIBLE'} {iters} iterations", flush=True)
    version = getattr(pyvrp, "__version__", None) or _installed_version()
    for seed in seeds:
        print(f"pyvrp {version} seed {seed}: mean gap {sum(gaps[seed].values()) / len(names):.3f} %")
    best = [min(gaps[s][n] for s in seeds) for n in names]
    print(f"pyvrp {version} best of seeds {args.seeds}: mean gap {sum(best) / len(best):.3f} % "
          f"over {len(names)} instances at {args.seconds:g} s")


def _installed_version() -> str:
    from importlib.metadata import version

    return version("pyvrp")


if __name__ == "__main__":
    sys.exit(main())
