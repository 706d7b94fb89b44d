"""`spares scenario ...` commands: list, validate, export and generate scenario folders."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import scenarios
from inventory.domain import Scenario

app = typer.Typer(no_args_is_help=True)
console = Console()
errors = Console(stderr=True)


def _summary(sc: Scenario) -> str:
    return (f"{sc.name}: {len(sc.parts)} parts, {len(sc.depots)} depots, {len(sc.sites)} sites, "
            f"{len(sc.contracts)} contracts, {len(sc.transport_modes)} transport modes, "
            f"{len(sc.installed_base)} installed-base rows, {len(sc.stock)} stock rows, "
            f"{len(sc.demand_history)} demand-history rows"
            + (f", {len(sc.candidates)} candidate locations" if sc.candidates else ""))


def _work(label: str) -> Progress:
    """A spinner with elapsed time for steps that can take more than a second."""
    return Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn(), console=errors,
                    transient=True, disable=not errors.is_terminal)


@app.command("list")
def list_() -> None:
    """List the bundled scenarios with their sizes."""
    table = Table("name", "parts", "depots", "sites", "path")
    for name in scenarios.bundled_names():
        sc = scenarios.load(name)
        table.add_row(name, str(len(sc.parts)), str(len(sc.depots)), str(len(sc.sites)),
                      str(scenarios.bundled_path(name)))
    console.print(table)


@app.command()
def validate(path: Path = typer.Argument(..., help="Scenario folder (scenario.toml + CSV files).")) -> None:
    """Check a scenario folder; print every problem as file:row:column: message (exit 1 if any)."""
    with _work(f"validating {path}") as progress:
        progress.add_task("validate")
        try:
            sc = scenarios.read_scenario(path)
        except scenarios.ScenarioFormatError as exc:
            problems = exc.problems
        else:
            problems = []
    if problems:
        for p in problems:
            console.print(str(p), markup=False, highlight=False, soft_wrap=True)
        errors.print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {path}",
                     markup=False)
        raise typer.Exit(1)
    console.print(f"ok: {_summary(sc)}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def export(name: str = typer.Argument(..., help="Bundled scenario name or a scenario folder."),
           directory: Path = typer.Argument(..., help="Folder to write (created if needed).")) -> None:
    """Write a bundled (or any readable) scenario to DIRECTORY in the scenario format."""
    try:
        sc = scenarios.load(name)
    except scenarios.ScenarioFormatError as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    scenarios.write_scenario(sc, directory)
    console.print(f"wrote {directory}: {_summary(sc)}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def generate(
    directory: Path = typer.Argument(..., help="Folder to write (created if needed)."),
    parts: int = typer.Option(300, "--parts", min=1, help="Number of parts."),
    depots: int = typer.Option(30, "--depots", min=2, help="Number of depots, HQ included."),
    sites: int = typer.Option(1500, "--sites", min=1, help="Number of customer sites."),
    seed: int = typer.Option(0, "--seed", help="Random seed; equal seeds give equal scenarios."),
    candidates: int = typer.Option(0, "--candidates", min=0,
                                   help="Number of candidate locations for the network design."),
) -> None:
    """Generate a synthetic benchmark scenario and write it to DIRECTORY."""
    from scenarios.generator import generate as make

    with _work(f"generating {parts} parts x {depots} depots x {sites} sites") as progress:
        progress.add_task("generate")
        sc = make(parts=parts, depots=depots, sites=sites, seed=seed, candidates=candidates)
        scenarios.write_scenario(sc, directory)
    console.print(f"wrote {directory}: {_summary(sc)}", markup=False, highlight=False, soft_wrap=True)
