"""`spares plan` command: stock levels for a scenario, written as plain files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import scenarios
from inventory.domain import DomainError
from optimizer.design.io import write_design
from optimizer.design.plan import DesignPlan, plan_design
from optimizer.design.solve import DesignObjective
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.api import Objective
from optimizer.stocking.cluster import Cluster, ClusterError, connect
from optimizer.stocking.io import write_plan
from optimizer.stocking.methods import DEPRECATED, METHODS, method_named
from optimizer.stocking.result import StockingPlan
from optimizer.stocking.stop import DEFAULT_GAP, DEFAULT_STOP, GapReached, MaxRuntime, runtime_limit

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
        gap = (f"gap {d.gap:.2%}" if d.gap is not None else
               f"no gap: the plan aims lower at {', '.join(d.aims_below_design)}")
        console.print(f"lower bound {d.bound:,.0f} {cur}/year over every design and stock level "
                      f"({gap})", markup=False)
    if d.system_gap is not None:
        console.print(f"the real network needs at least {d.design.system_bound:,.0f} {cur}/year "
                      f"(resupply pipelines counted; the plan is {d.system_gap:.2%} above it)",
                      markup=False)
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
    method: str = typer.Option(METHODS[0], "--method",
                               help="column-generation or exact (small instances; with --design: "
                                    "the exact design over every open set)."),
    frontier: bool = typer.Option(False, "--frontier", help="Also write frontier.csv."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Where the per-part work runs: tcp://host:8786 (a Dask "
        "scheduler), local or local:N (N worker processes here); default "
        "$SPARES_DASK_SCHEDULER, else in this process."),
    max_runtime: float = typer.Option(runtime_limit(DEFAULT_STOP), "--max-runtime", min=1.0,
                                      help="Stop the stocking solver after this many seconds "
                                           "(each master MIP gets the time left)."),
    gap: float = typer.Option(DEFAULT_GAP, "--gap", min=0.0, max=0.5,
                              help="Stop each master MIP at this relative gap to its bound."),
    overlay: Path | None = typer.Option(None, "--overlay",
                                        help="A what-if overlay (TOML, docs/what-if.md) applied to "
                                             "the scenario first; named in the outputs."),
) -> None:
    """Optimise base-stock levels per part and depot against the contracts' on-time targets."""
    if method in DEPRECATED:
        errors.print(f"--method {method}: deprecated name, use {DEPRECATED[method]}", markup=False)
        method = DEPRECATED[method]
    if method not in METHODS:
        errors.print(f"--method: {method!r} is not one of {', '.join(METHODS)}", markup=False)
        raise typer.Exit(2)
    try:
        sc = scenarios.load(scenario)
    except (scenarios.ScenarioFormatError, DomainError) as exc:
        errors.print(f"--scenario {scenario}: {exc}", markup=False)
        raise typer.Exit(1) from None
    what_if: list[str] = []
    if overlay is not None:
        sc, what_if = _overlay(sc, overlay)
    if not design and (open_ids or close_ids or max_new is not None):
        errors.print("--open, --close and --max-new need --design", markup=False)
        raise typer.Exit(2)
    where = open_cluster(cluster)
    try:
        if design:
            _design(sc, out, budget, open_ids, close_ids, max_new, where, method)
            if overlay is not None:
                (out / "overlay.toml").write_text(overlay.read_text())
            return
        with Progress(TextColumn("planning {task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=errors, transient=True) as bar:
            task = bar.add_task(sc.name, total=1.0)
            try:
                result = plan_scenario(sc, Objective(budget=budget), method=method_named(method),
                                       stop=MaxRuntime(max_runtime) | GapReached(gap),
                                       with_frontier=frontier, cluster=where,
                                       progress=lambda f: bar.update(task, completed=f))
            except ValueError as exc:
                errors.print(f"plan failed: {exc}", markup=False)
                raise typer.Exit(1) from None
    finally:
        where.close()
    if what_if:
        result = replace(result, notes=(*result.notes, *what_if))
    write_plan(result, out, frontier=frontier)
    if overlay is not None:
        (out / "overlay.toml").write_text(overlay.read_text())
    _print(result, out)


def _overlay(sc, path: Path) -> tuple:
    """The scenario with the overlay at ``path`` applied and one note per change (naming it)."""
    from scenarios.overlay import OverlayError, apply_overlay, describe, parse_overlay

    try:
        ov = parse_overlay(path.read_text())
        sc = apply_overlay(sc, ov)
    except OSError as exc:
        errors.print(f"--overlay {path}: {exc.strerror or exc}", markup=False)
        raise typer.Exit(1) from None
    except OverlayError as exc:
        errors.print(f"--overlay {path}: {exc}", markup=False)
        raise typer.Exit(1) from None
    label = f"what-if overlay {ov.name or path.stem} ({path})"
    console.print(label, markup=False)
    lines = [f"{label}: {line}" for line in describe(ov)] or [f"{label}: no changes"]
    for line in describe(ov):
        console.print(f"  {line}", markup=False)
    return sc, lines


def open_cluster(spec: str | None) -> Cluster:
    """The cluster of ``--cluster`` (or ``$SPARES_DASK_SCHEDULER``); exit 2 naming the option for
    a spec that names nothing, 1 when the cluster cannot be reached."""
    try:
        return connect(spec)
    except ValueError as exc:
        errors.print(f"--cluster: {exc}", markup=False)
        raise typer.Exit(2) from None
    except ClusterError as exc:
        errors.print(f"--cluster: {exc}", markup=False)
        raise typer.Exit(1) from None


def _design(sc, out: Path, budget: float | None, open_ids: list[str], close_ids: list[str],
            max_new: int | None, cluster: Cluster | None, method: str = METHODS[0]) -> None:
    objective = DesignObjective(budget=budget, force_open=tuple(open_ids),
                                force_closed=tuple(close_ids), max_new=max_new)
    with Progress(TextColumn("designing {task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task(sc.name, total=1.0)
        try:
            result = plan_design(sc, objective, cluster=cluster,
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
