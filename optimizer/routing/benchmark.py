"""Solomon benchmark runner: solve each instance, check it independently, compare to the BKS."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from optimizer.routing.checker import check
from optimizer.routing.ortools_solver import solve_ortools
from optimizer.routing.pyvrp_solver import solve, solve_seeds
from optimizer.routing.solomon import read_bks, read_vrp, write_sol
from optimizer.routing.stop import MaxRuntime

SOLVERS = {"pyvrp": solve, "ortools": solve_ortools}


@dataclass(frozen=True)
class BenchRow:
    """One line of ``results.csv``; cost and bks in DIMACS distance, seconds wall-clock."""

    instance: str
    cost: float
    routes: int
    bks: float | None
    gap_pct: float | None
    feasible: bool
    seconds: float


def instance_paths(directory: Path | str, only: Sequence[str] | None = None) -> list[Path]:
    """The ``.vrp`` files of ``directory`` sorted by name, restricted to ``only`` names if given.

    Raises
    ------
    FileNotFoundError
        When the directory has no ``.vrp`` files or a name in ``only`` has no file.
    """
    directory = Path(directory)
    paths = {p.stem.upper(): p for p in sorted(directory.glob("*.vrp"))}
    if not paths:
        raise FileNotFoundError(f"{directory}: no .vrp files")
    if not only:
        return [paths[k] for k in sorted(paths)]
    missing = [name for name in only if name.upper() not in paths]
    if missing:
        raise FileNotFoundError(f"{directory}: no .vrp file for {', '.join(missing)}")
    return [paths[name.upper()] for name in only]


def run_solomon(
    paths: Sequence[Path],
    *,
    seconds: float,
    out_dir: Path | str,
    solver: str = "pyvrp",
    seed: int = 0,
    seeds: int = 1,
    bks_path: Path | str | None = None,
    on_done: Callable[[BenchRow], None] | None = None,
) -> list[BenchRow]:
    """Solve every instance for ``seconds``, check it, write its ``.sol`` and ``results.csv``.

    ``feasible`` in each row is the independent checker's verdict, not the solver's.
    ``seeds`` > 1 (PyVRP only) runs that many seeds side by side and keeps the best
    (:func:`optimizer.routing.pyvrp_solver.solve_seeds`).
    ``gap_pct`` is ``100 * (cost - bks) / bks``.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose from {sorted(SOLVERS)}")
    if seeds != 1 and solver != "pyvrp":
        raise ValueError("seeds > 1 is offered for the pyvrp solver only")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bks = {}
    if bks_path is not None and Path(bks_path).exists():
        bks = {k.upper(): v for k, v in read_bks(bks_path).items()}
    rows: list[BenchRow] = []
    for path in paths:
        instance = read_vrp(path)
        problem = instance.to_problem()
        if seeds > 1:
            solution = solve_seeds(problem, MaxRuntime(seconds), seed=seed, seeds=seeds)
        else:
            solution = SOLVERS[solver](problem, MaxRuntime(seconds), seed=seed)
        report = check(problem, solution.routes)
        best = bks.get(instance.name.upper())
        gap = None if best is None else round(100 * (report.cost - best.cost) / best.cost, 3)
        row = BenchRow(
            instance.name,
            round(report.cost, 1),
            report.num_routes,
            None if best is None else best.cost,
            gap,
            report.feasible,
            round(solution.seconds, 2),
        )
        write_sol(out / f"{instance.name}.sol", solution.routes, report.cost)
        rows.append(row)
        write_results(out / "results.csv", rows)
        if on_done is not None:
            on_done(row)
    return rows


def write_results(path: Path, rows: Sequence[BenchRow]) -> None:
    """Write ``rows`` as CSV with a header (empty cells for unknown bks/gap)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f.name for f in fields(BenchRow)])
        for row in rows:
            writer.writerow(["" if v is None else v for v in astuple(row)])
