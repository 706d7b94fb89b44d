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
from optimizer.design.io import write_design
from optimizer.design.plan import DesignPlan, plan_design
from optimizer.design.solve import DesignObjective
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


def _print_design(d: DesignPlan, out: Path) -> None:
    plan, chosen = d.plan, d.chosen
    cur = plan.currency
    table = Table("tier", "severity", "target", "before", "after", "ceiling", "met",
                  title=f"Network design {plan.scenario}")
    before = None if d.before is None else d.before.plan.class_on_time
    for c in range(len(plan.class_tier)):
        t, v = plan.class_target[c], plan.class_on_time[c]
        ceil = plan.class_ceiling[c] if plan.class_ceiling is not None else float("nan")
        met = plan.class_met[c]
        table.add_row(str(plan.class_tier[c]), str(plan.class_severity[c]),
                      "-" if t != t else f"{t:.1%}",
                      "-" if before is None or before[c] != before[c] else f"{before[c]:.2%}",
                      "-" if v != v else f"{v:.2%}", "-" if ceil != ceil else f"{ceil:.2%}",
                      "yes" if met else "[red]NO[/red]" + ("" if plan.class_reachable[c]
                                                           else " (unreachable)"))
    console.print(table)
    console.print(f"opened {len(d.opened)} location(s): {', '.join(d.opened) or 'none'}"
                  + (f"; closed: {', '.join(d.closed)}" if d.closed else ""), markup=False)
    console.print(f"yearly cost {chosen.yearly_cost:,.0f} {cur} = fixed {chosen.fixed_cost:,.0f} + "
                  f"{d.problem.carrying_rate:.0%} x stock {plan.investment:,.0f}; {plan.units} units; "
                  f"{d.runtime_s:.0f} s", markup=False)
    if d.bound is not None:
        console.print(f"lower bound {d.bound:,.0f} {cur}/year over every design and stock level "
                      f"(gap {d.gap:.2%})", markup=False)
    for b in (d.sequential, d.before):
        if b is not None:
            console.print(f"  {b.name}: {b.yearly_cost:,.0f} {cur}/year (the design saves "
                          f"{b.yearly_cost - chosen.yearly_cost:,.0f}"
                          f"{'' if b.feasible else '; it misses a target'})", markup=False)
    if d.hold_backs:
        console.print(f"  {len(d.hold_backs)} site(s) hold back unreachable classes: see "
                      "hold_backs.csv", markup=False)
    for note in (*d.notes, *plan.notes):
        console.print(f"  note: {note}", markup=False)
    console.print(f"written to {out}")


def plan(
    scenario: str = typer.Option(..., "--scenario", help="Bundled scenario name or scenario folder."),
    out: Path = typer.Option(..., "--out", help="Folder for stock_levels.csv, service.csv, summary.json."),
    budget: float | None = typer.Option(None, "--budget", min=0,
                                        help="Maximise on-time share within this investment "
                                             "(with --design: this yearly fixed + carrying cost)."),
    design: bool = typer.Option(False, "--design",
                                help="Also choose which candidate locations to open (and closable "
                                     "depots to keep): writes design.csv, before_after.csv, "
                                     "hold_backs.csv."),
    open_ids: list[str] = typer.Option([], "--open", help="With --design: keep this location open "
                                                           "(repeatable)."),
    close_ids: list[str] = typer.Option([], "--close", help="With --design: keep this location "
                                                             "closed (repeatable)."),
    max_new: int | None = typer.Option(None, "--max-new", min=0,
                                       help="With --design: open at most this many candidates."),
    method: str = typer.Option("greedy", "--method", help="greedy or exact (small instances; with "
                               "--design: the exact design over every open set)."),
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
    if not design and (open_ids or close_ids or max_new is not None):
        errors.print("--open, --close and --max-new need --design", markup=False)
        raise typer.Exit(2)
    if design:
        _design(sc, out, budget, open_ids, close_ids, max_new, workers, method)
        return
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


def _design(sc, out: Path, budget: float | None, open_ids: list[str], close_ids: list[str],
            max_new: int | None, workers: int, method: str = "greedy") -> None:
    objective = DesignObjective(budget=budget, force_open=tuple(open_ids),
                                force_closed=tuple(close_ids), max_new=max_new)
    with Progress(TextColumn("designing {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task(sc.name, total=1.0)
        try:
            result = plan_design(sc, objective, workers=workers,
                                 method="exact" if method == "exact" else "integrated",
                                 progress=lambda f: bar.update(task, completed=f))
        except (KeyError, ValueError) as exc:
            why = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            errors.print(f"design failed: {why}", markup=False)
            raise typer.Exit(1) from None
    write_design(result, out)
    _print_design(result, out)


def register(root: typer.Typer) -> None:
    """Attach this module's command(s) to the root app."""
    root.command("plan")(plan)
