"""One pricing pass of the cn-telecom network design, where the design's time goes.

    python benchmarks/pricing_pass.py --evaluate --compare /tmp/old-tree
    python benchmarks/pricing_pass.py --pass --cluster local:2 --chunk-parts 300 75

Builds the design problem (reach with every candidate open), then:

``--evaluate``: the model evaluation of every part at the deepest vectors of the start pool,
cold and warm-started from nearby levels (one more unit per part), in this tree and, with
``--compare DIR``, in another checkout of the project run in a subprocess on the same inputs
(old and new side by side, the ratio reported, and the largest difference of the on-time
shares).

``--pass``: the first LP-priced pricing pass (the start pool's LP master prices, every location
allowed: the heaviest pass of the design), once per ``--chunk-parts`` value, on ``--cluster``
(none: in this process), with the number of columns and units it ends with (the same for every
chunking: parts are independent).
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EVAL_SNIPPET = """
import pickle, sys, time
import numpy as np
from optimizer.stocking.evaluate import evaluate_parts
pr, S = pickle.load(open(sys.argv[1], "rb"))
out = []
for _ in range(2):
    t = time.perf_counter(); ev = evaluate_parts(pr, S, tol=1e-9, with_fill=False)
    cold = time.perf_counter() - t
    S2 = S.copy(); S2[np.arange(pr.n_parts), np.argmax(S, axis=1)] += 1
    t = time.perf_counter()
    ev2 = evaluate_parts(pr, S2, tol=1e-9, with_fill=False, initial_availability=ev.availability)
    out.append((cold, time.perf_counter() - t))
pickle.dump((out, np.concatenate([ev.stream_on_time, ev2.stream_on_time])), open(sys.argv[2], "wb"))
"""


def design_problem():
    import scenarios
    from optimizer.design.problem import build_design_problem
    from optimizer.reach import build_reach
    from optimizer.travel import TravelNetwork

    sc = scenarios.load("cn-telecom")
    full = sc.with_design([c.candidate_id for c in sc.candidates])
    return build_design_problem(sc, build_reach(full, TravelNetwork(full)))


def start_pool(dp):
    """The pool of the design's start (zero stock, equal class prices with every location and
    with the existing ones) and its LP master's prices."""
    from optimizer.design.master import solve_design_master
    from optimizer.design.solve import DesignObjective, design_targets
    from optimizer.stocking.columns import ColumnPool, evaluate_columns, paths
    from optimizer.stocking.lagrange import BIG_M, _first_ratio

    pr = dp.stocking
    P, L, C = pr.n_parts, pr.n_locations, pr.n_classes
    D, h = pr.class_demand_per_year, dp.carrying_rate
    rules = DesignObjective().rules(dp)
    aimed = design_targets(dp, rules).aimed_at
    con = ~np.isnan(aimed) & (D > 0)
    pool = ColumnPool(L, C)
    evaluate_columns(pr, np.arange(P), np.zeros((P, L), dtype=np.int64), pool)
    prices0 = np.where(con, 1.0 / np.where(D > 0, D, 1.0), 0.0)
    ratio0 = _first_ratio(pr, prices0 / h) * 1e-3
    paths(pr, prices0 / h, pool, stop_ratio=ratio0, units_per_round=1,
          blocked=np.zeros(L, dtype=bool))
    paths(pr, prices0 / h, pool, stop_ratio=ratio0, units_per_round=1, blocked=dp.is_candidate)
    penalty = np.where(con, BIG_M * float(pr.unit_cost.sum()) * h / np.where(D > 0, D, 1.0), 0.0)
    lp = solve_design_master(pool, dp, aimed, rules, integer=False, penalty=penalty,
                             time_limit_s=20)
    return pool, lp


def deepest(pr, pool) -> np.ndarray:
    """(P, L) the pool's vector with the most units of each part."""
    part, lv, _, _ = pool.arrays()
    S = np.zeros((pr.n_parts, pr.n_locations), dtype=np.int64)
    units = lv.sum(axis=1)
    for p in range(pr.n_parts):
        i = np.nonzero(part == p)[0]
        S[p] = lv[i[np.argmax(units[i])]]
    return S


def run_evaluate(pr, S, tree: Path, work: Path) -> tuple[list, np.ndarray]:
    inputs, output = work / "in.pkl", work / f"out-{abs(hash(str(tree)))}.pkl"
    with open(inputs, "wb") as fh:
        pickle.dump((pr, S), fh)
    subprocess.run([sys.executable, "-c", EVAL_SNIPPET, str(inputs), str(output)], cwd=tree,
                   check=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    with open(output, "rb") as fh:
        return pickle.load(fh)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluate", action="store_true")
    ap.add_argument("--pass", dest="pricing", action="store_true")
    ap.add_argument("--compare", type=Path, default=None, help="another checkout (old code)")
    ap.add_argument("--cluster", default=None, help="local:N, tcp://host:port or none")
    ap.add_argument("--chunk-parts", type=int, nargs="*", default=[])
    a = ap.parse_args()
    t = time.perf_counter()
    dp = design_problem()
    pr = dp.stocking
    pool, lp = start_pool(dp)
    print(f"design problem {pr.n_parts} parts x {pr.n_locations} locations, "
          f"{len(pr.stream_part):,} streams; start pool {len(pool):,} columns "
          f"({time.perf_counter() - t:.0f} s)")
    if a.evaluate:
        S = deepest(pr, pool)
        here = Path(__file__).resolve().parents[1]
        trees = [("new", here)] + ([("old", a.compare.resolve())] if a.compare else [])
        with tempfile.TemporaryDirectory() as tmp:
            got = {name: run_evaluate(pr, S, tree, Path(tmp)) for name, tree in trees}
        for name, (times, _) in got.items():
            print(f"evaluate ({name}): {S.sum():,} units; cold / warm s: "
                  + ", ".join(f"{c:.2f} / {w:.2f}" for c, w in times))
        if "old" in got:
            new_t, old_t = np.array(got["new"][0]), np.array(got["old"][0])
            r = new_t.min(axis=0) / old_t.min(axis=0)
            diff = np.abs(got["new"][1] - got["old"][1]).max()
            print(f"new / old (best of 2): cold {r[0]:.2f}, warm {r[1]:.2f}; largest on-time "
                  f"difference {diff:.1e}")
    if a.pricing:
        from optimizer.stocking.cluster import connect
        from optimizer.stocking.columns import ColumnPool, paths

        h = dp.carrying_rate
        with connect(a.cluster, use_env=False) as where:
            for n in a.chunk_parts or [None]:
                cols = ColumnPool(pr.n_locations, pr.n_classes)
                t = time.perf_counter()
                S = paths(pr, lp.prices / h, cols, stop_ratio=0.5, units_per_round=1,
                          cluster=where, chunk_parts=n, blocked=np.zeros(pr.n_locations, bool),
                          entry_cost=None if lp.entry is None else lp.entry / h)
                print(f"pricing pass on {where!r}, {n or 'default'} parts per chunk: "
                      f"{time.perf_counter() - t:.1f} s, {len(cols):,} columns, {S.sum():,} units")


if __name__ == "__main__":
    main()
