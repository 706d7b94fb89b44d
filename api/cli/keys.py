"""`spares keys ...` commands: create (the key is printed once), list and revoke API keys.

Other commands (``spares demo``) get a key for their own examples with :func:`new_key`.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()

URL_HELP = "database URL (default: SPARES_DATABASE_URL or sqlite:///spares.db)"


def _sessions(url: str | None):
    from inventory.db.engine import database_url, make_engine, session_factory

    return session_factory(make_engine(url or database_url()))


def new_key(url: str | None, name: str, scopes: list[str] | str) -> str:
    """Create a key in the database at ``url`` and return the plain key (only its hash is
    stored; the caller shows it once). ``scopes``: ticketing, planner and/or admin."""
    from api.auth.service import create_key

    sessions = _sessions(url)
    try:
        with sessions() as session, session.begin():
            return create_key(session=session, name=name, scopes=scopes)[1]
    finally:
        sessions.kw["bind"].dispose()


@app.command("create")
def create(name: str = typer.Option(..., "--name", help="who uses the key, e.g. servicenow-prod"),
           scope: list[str] = typer.Option(..., "--scope",
                                           help="ticketing, planner or admin; repeat for several"),
           url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Create an API key and print it once; only its SHA-256 hash is stored."""
    from api.auth.service import create_key

    sessions = _sessions(url)
    try:
        with sessions() as session, session.begin():
            row, plain = create_key(session=session, name=name, scopes=scope)
            key_id, scopes = row.id, row.scopes
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope / --name") from exc
    console.print(f"created key [bold]{key_id}[/] for {name!r} with scopes: {scopes}")
    console.print("store it now, it is not shown again:")
    typer.echo(plain)


@app.command("list")
def list_keys(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """List keys (never the secrets)."""
    from api.auth.service import list_keys as rows

    table = Table("id", "name", "scopes", "created", "revoked")
    with _sessions(url)() as session:
        for r in rows(session=session):
            table.add_row(r.id, r.name, r.scopes, f"{r.created_at:%Y-%m-%d %H:%M}",
                          f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "")
    console.print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key id shown by `keys list`"),
           url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Revoke a key (running servers stop accepting it within their key-cache time)."""
    from api.auth.service import revoke_key

    with _sessions(url)() as session, session.begin():
        ok = revoke_key(session=session, key_id=key_id)
    if not ok:
        console.print(f"[red]no active key {key_id!r}[/]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")
