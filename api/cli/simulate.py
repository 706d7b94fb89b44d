"""`spares simulate` command: referee a stocking plan with the discrete-event simulation."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import scenarios
from inventory.domain import DomainError
from optimizer.stocking.io import PlanFormatError, read_plan
from optimizer.stocking.problem import StockingProblem, build_problem
from optimizer.stocking.result import StockingPlan
from optimizer.stocking.simulation import SimulationResult, simulate
from optimizer.supersession import planning_scenario

console = Console()
errors = Console(stderr=True, soft_wrap=True)  # error lines stay whole (file:row: field)

SIMULATION_COLUMNS = ("tier", "severity", "target", "predicted_on_time", "simulated_on_time",
                      "ci_low", "ci_high", "demands")


def plan_levels(problem: StockingProblem, plan: StockingPlan, folder: Path) -> np.ndarray:
    """The plan's base stock laid out on the problem's (part, location) grid (absent = 0).

    Raises ValueError naming ``stock_levels.csv`` and the unknown part or depot id.
    """
    pix = {p: i for i, p in enumerate(problem.part_ids)}
    lix = {d: j for j, d in enumerate(problem.location_ids)}
    S = np.zeros((problem.n_parts, problem.n_locations), dtype=np.int64)
    for a, part in enumerate(plan.part_ids):
        if part not in pix:
            raise ValueError(f"{folder / 'stock_levels.csv'}: field 'part_id': {part!r} is not a part "
                             f"of scenario {problem.name!r}")
        for b, depot in enumerate(plan.location_ids):
            if depot not in lix:
                raise ValueError(f"{folder / 'stock_levels.csv'}: field 'depot_id': {depot!r} is not a "
                                 f"depot of scenario {problem.name!r}")
            S[pix[part], lix[depot]] = plan.levels[a, b]
    return S


def predicted_by_class(problem: StockingProblem, plan: StockingPlan) -> np.ndarray:
    """(C,) predicted on-time share from the plan's ``service.csv`` (NaN where it has no row)."""
    pred = {(str(t), int(s)): float(v) for t, s, v in zip(plan.class_tier, plan.class_severity,
                                                          plan.class_on_time, strict=True)}
    return np.array([pred.get((str(problem.class_tier[c]), int(problem.class_severity[c])), math.nan)
                     for c in range(problem.n_classes)])


def write_simulation(problem: StockingProblem, predicted: np.ndarray, sim: SimulationResult,
                     path: Path) -> Path:
    """Write ``simulation.csv``: one row per (tier, severity) class, shares in [0, 1]."""

    def cell(x: float) -> str:
        return "" if x != x else repr(float(x))

    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SIMULATION_COLUMNS)
        for c in range(problem.n_classes):
            w.writerow([problem.class_tier[c], int(problem.class_severity[c]),
                        cell(problem.class_target[c]), cell(predicted[c]), cell(sim.class_on_time[c]),
                        cell(sim.class_ci_low[c]), cell(sim.class_ci_high[c]),
                        int(sim.class_demands[c])])
    return path


OUTSIDE_TOL = 5e-4
"""A prediction within 0.05 pp of the interval is not flagged (degenerate 100% intervals)."""


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.2%}"


def _print(problem: StockingProblem, predicted: np.ndarray, sim: SimulationResult) -> None:
    table = Table("tier", "sev", "target", "predicted", "simulated", "95% CI", "failures",
                  title=f"Simulation of {problem.name}: {sim.years:g} years x {sim.replications} "
                        f"replications, seed {sim.seed}")
    for c in range(problem.n_classes):
        lo, hi, p = sim.class_ci_low[c], sim.class_ci_high[c], predicted[c]
        outside = lo == lo and p == p and not lo - OUTSIDE_TOL <= p <= hi + OUTSIDE_TOL
        interval = "-" if lo != lo else f"{100 * lo:.2f}-{100 * hi:.2f}%"
        target = problem.class_target[c]
        table.add_row(str(problem.class_tier[c]), str(problem.class_severity[c]),
                      "no part deadline" if target != target else f"{target:.1%}", _pct(p),
                      _pct(sim.class_on_time[c]), interval + (" (!)" if outside else ""),
                      f"{int(sim.class_demands[c]):,}")
    console.print(table)
    console.print(f"overall simulated on time {_pct(sim.overall_on_time)}, "
                  f"{sim.total_demands:,} failures simulated")
    console.print("(!) = prediction outside the simulated 95% interval")


def simulate_command(
    scenario: str = typer.Option(..., "--scenario", help="Bundled scenario name or scenario folder."),
    plan: Path = typer.Option(..., "--plan", help="Plan folder written by `spares plan`."),
    years: float = typer.Option(5.0, "--years", min=0.01, help="Measured years per replication."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same result)."),
    replications: int = typer.Option(5, "--replications", min=1, help="Independent replications."),
    warmup: float = typer.Option(1.0, "--warmup", min=0.0, help="Discarded start-up years."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Where the replications run: tcp://host:8786 (a Dask scheduler), "
        "local or local:N (N worker processes here); default $SPARES_DASK_SCHEDULER, else in "
        "this process."),
) -> None:
    """Simulate a plan's stock levels: on-time share per class vs prediction (PLAN/simulation.csv)."""
    try:
        sc = scenarios.load(scenario)
    except (scenarios.ScenarioFormatError, DomainError) as exc:
        errors.print(f"--scenario {scenario}: {exc}", markup=False)
        raise typer.Exit(1) from None
    try:
        stored = read_plan(plan)
    except PlanFormatError as exc:
        errors.print(f"--plan: {exc}", markup=False)
        raise typer.Exit(1) from None
    from optimizer.reach import build_reach
    from optimizer.travel import TravelNetwork

    with errors.status("building reach and demand streams"):
        # planned as `spares plan` plans: superseded parts' demand on their successors
        problem = build_problem(planning_scenario(sc)[0], build_reach(sc, TravelNetwork(sc)))
    try:
        S = plan_levels(problem, stored, plan)
    except ValueError as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    columns = (TextColumn("simulating {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("parts"), TimeElapsedColumn())
    from api.cli.plan import open_cluster

    with open_cluster(cluster) as where, Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(sc.name, total=problem.n_parts)
        sim = simulate(problem, S, years=years, replications=replications, seed=seed,
                       warmup_years=warmup, cluster=where,
                       progress=lambda done, _: bar.update(task, completed=done))
    predicted = predicted_by_class(problem, stored)
    out = write_simulation(problem, predicted, sim, plan / "simulation.csv")
    _print(problem, predicted, sim)
    console.print(f"written to {out}")


def register(root: typer.Typer) -> None:
    """Attach ``spares simulate`` to the root app."""
    root.command("simulate")(simulate_command)
