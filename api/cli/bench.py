"""`spares bench ...` commands: reproducible benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from optimizer.routing.benchmark import SOLVERS, BenchRow, instance_paths, run_solomon
from optimizer.routing.solomon import SolomonFormatError

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Reproducible benchmarks."""


@app.command("solomon")
def solomon(
    instances: Annotated[Path, typer.Option(help="Folder of Solomon .vrp files (and bks.csv).")],
    out: Annotated[Path, typer.Option(help="Folder for results.csv and one .sol per instance.")],
    seconds: Annotated[float, typer.Option(min=0.1, help="Search time per instance (s).")] = 10.0,
    only: Annotated[str | None, typer.Option(help="Comma-separated instance names.")] = None,
    solver: Annotated[str, typer.Option(help="pyvrp or ortools.")] = "pyvrp",
    seed: Annotated[int, typer.Option(help="Solver seed.")] = 0,
    seeds: Annotated[int, typer.Option(min=1, help="PyVRP: seeds run side by side, best kept.")] = 1,
) -> None:
    """Solve Solomon VRPTW instances, check every solution and compare to the best known."""
    console = Console()
    if solver not in SOLVERS:
        raise typer.BadParameter(
            f"unknown solver {solver!r}; choose from {', '.join(sorted(SOLVERS))}", param_hint="--solver"
        )
    if seeds > 1 and solver != "pyvrp":
        raise typer.BadParameter("--seeds > 1 is offered for pyvrp only", param_hint="--seeds")
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    try:
        paths = instance_paths(instances, names)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--instances/--only") from exc
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{solver} {seconds:g} s", total=len(paths))

        def done(row: BenchRow) -> None:
            gap = "" if row.gap_pct is None else f" gap {row.gap_pct:.2f}%"
            progress.console.print(
                f"{row.instance}: {row.cost:.1f} ({row.routes} routes){gap}"
                f"{'' if row.feasible else ' INFEASIBLE'}"
            )
            progress.advance(task)

        try:
            rows = run_solomon(
                paths,
                seconds=seconds,
                out_dir=out,
                solver=solver,
                seed=seed,
                seeds=seeds,
                bks_path=instances / "bks.csv",
                on_done=done,
            )
        except SolomonFormatError as exc:
            console.print("[red]error:[/red]", Text(str(exc)), soft_wrap=True)
            raise typer.Exit(code=2) from exc
    console.print(_summary(rows, solver))
    console.print(f"wrote {out / 'results.csv'}")
    if not all(r.feasible for r in rows):
        raise typer.Exit(code=1)


def _summary(rows: list[BenchRow], solver: str) -> Table:
    gaps = [r.gap_pct for r in rows if r.gap_pct is not None]
    table = Table(title=f"Solomon, {solver}")
    for name in ("instances", "feasible", "mean gap %", "max gap %", "mean s"):
        table.add_column(name, justify="right")
    table.add_row(
        str(len(rows)),
        str(sum(r.feasible for r in rows)),
        f"{sum(gaps) / len(gaps):.2f}" if gaps else "-",
        f"{max(gaps):.2f}" if gaps else "-",
        f"{sum(r.seconds for r in rows) / max(len(rows), 1):.1f}",
    )
    return table
