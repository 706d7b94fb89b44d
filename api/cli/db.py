"""`spares db ...` commands: create/upgrade the schema and load a scenario into it."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()

URL_HELP = "database URL (default: SPARES_DATABASE_URL or sqlite:///spares.db)"


def _url(url: str | None) -> str:
    from api.settings import load as load_settings
    from inventory.db.engine import normalize_url

    return normalize_url(url or load_settings().database_url)


@app.command("init")
def init(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Create or upgrade the database schema to the newest migration."""
    from inventory.db.migrate import head_revision, upgrade

    target = _url(url)
    with console.status(f"migrating {target} ..."):
        try:
            upgrade(target)
        except Exception as exc:  # a bad URL or an unreachable server: say which
            console.print(f"[red]error:[/] cannot migrate {target}: {exc}")
            raise typer.Exit(1) from exc
    console.print(f"database {target} is at revision {head_revision()}")


@app.command("load")
def load(scenario: str = typer.Argument(..., help="bundled name (tiny, cn-telecom) or a path"),
         url: str | None = typer.Option(None, "--url", help=URL_HELP),
         replace: bool = typer.Option(False, "--replace",
                                      help="delete the loaded scenario and its ledger first")) -> None:
    """Load a scenario and its opening stock (as ledger receipts) in one transaction.

    The schema is brought to the newest migration first (as `spares db init` does), so a fresh
    database needs only this command.
    """
    import scenarios
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.load import LoadError, load_scenario
    from inventory.db.migrate import upgrade
    from inventory.domain import DomainError

    target = _url(url)
    try:
        upgrade(target)
    except Exception as exc:  # a bad URL or an unreachable server: say which
        console.print(f"[red]error:[/] cannot migrate {target}: {exc}")
        raise typer.Exit(1) from exc
    with console.status(f"reading scenario {scenario} ..."):
        try:
            sc = scenarios.load(scenario)
        except (DomainError, ValueError, OSError) as exc:
            console.print(f"[red]error:[/] scenario {scenario}: {exc}")
            raise typer.Exit(1) from exc
    engine = make_engine(target)
    try:
        with console.status(f"loading {sc.name} into {target} ..."), \
                session_factory(engine)() as session, session.begin():
            report = load_scenario(sc, session=session, replace=replace)
    except LoadError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    except Exception as exc:  # no schema yet, unreachable server, ...
        console.print(f"[red]error:[/] loading into {target} failed: {exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    _summary(report.scenario, report.counts, report.replaced)


def _summary(name: str, counts: dict[str, int], replaced: str | None) -> None:
    table = Table(title=f"loaded scenario {name!r}" + (f" (replaced {replaced!r})" if replaced else ""))
    table.add_column("table")
    table.add_column("rows", justify="right")
    for key, n in counts.items():
        table.add_row(key, str(n))
    console.print(table)
