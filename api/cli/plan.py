"""`spares plan` command: stock levels for a scenario, written as plain files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import scenarios
from api.cli.cores import DEFAULT_WORKERS
from inventory.domain import DomainError
from optimizer.stocking.io import write_plan
from optimizer.stocking.result import StockingPlan
from optimizer.stocking.solve import METHODS, plan_scenario

console = Console()
errors = Console(stderr=True)


def _print(plan: StockingPlan, out: Path) -> None:
    table = Table("tier", "severity", "target", "predicted on time", title=f"Stocking plan {plan.scenario}")
    for c in range(len(plan.class_tier)):
        t, v = plan.class_target[c], plan.class_on_time[c]
        table.add_row(str(plan.class_tier[c]), str(plan.class_severity[c]),
                      "-" if t != t else f"{t:.1%}", "-" if v != v else f"{v:.2%}")
    console.print(table)
    console.print(f"investment {plan.investment:,.2f} {plan.currency}, {plan.units} units, "
                  f"method {plan.method}, {plan.runtime_s:.1f} s"
                  + (f", gap {plan.gap:.3%}" if plan.gap is not None else ""))
    for b in plan.baselines:
        console.print(f"  {b.name}: {b.investment:,.2f} {plan.currency} "
                      f"(saving {b.investment - plan.investment:,.2f}"
                      f"{'' if b.feasible else ', baseline misses a target'})")
    for note in plan.notes:
        console.print(f"  note: {note}", markup=False)
    console.print(f"written to {out}")


def plan(
    scenario: str = typer.Option(..., "--scenario", help="Bundled scenario name or scenario folder."),
    out: Path = typer.Option(..., "--out", help="Folder for stock_levels.csv, service.csv, summary.json."),
    budget: float | None = typer.Option(None, "--budget", min=0,
                                        help="Maximise on-time share within this investment."),
    method: str = typer.Option("greedy", "--method", help="greedy or exact (small instances)."),
    frontier: bool = typer.Option(False, "--frontier", help="Also write frontier.csv."),
    workers: int = typer.Option(DEFAULT_WORKERS, "--workers", min=1,
                                help="Processes that price the stock levels (default: the usable "
                                     "cores, at most 8); 1 keeps it in one process."),
) -> None:
    """Optimise base-stock levels per part and depot against the contracts' on-time targets."""
    if method not in METHODS:
        errors.print(f"--method: {method!r} is not one of {', '.join(METHODS)}", markup=False)
        raise typer.Exit(2)
    try:
        sc = scenarios.load(scenario)
    except (scenarios.ScenarioFormatError, DomainError) as exc:
        errors.print(f"--scenario {scenario}: {exc}", markup=False)
        raise typer.Exit(1) from None
    with Progress(TextColumn("planning {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task(sc.name, total=1.0)
        try:
            result = plan_scenario(sc, method, budget, with_frontier=frontier,
                                   progress=lambda f: bar.update(task, completed=f),
                                   workers=workers)
        except ValueError as exc:
            errors.print(f"plan failed: {exc}", markup=False)
            raise typer.Exit(1) from None
    write_plan(result, out, frontier=frontier)
    _print(result, out)


def register(root: typer.Typer) -> None:
    """Attach this module's command(s) to the root app."""
    root.command("plan")(plan)
