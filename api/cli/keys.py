"""`spares keys ...` commands: create (the key is printed once), list and revoke API keys;
`spares orgs ...`: create and list the organizations that own keys and their data.

Other commands (``spares demo``) get a key for their own examples with :func:`new_key`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
orgs_app = typer.Typer(no_args_is_help=True)


def _console() -> Console:
    """A console sized for the terminal the command runs in (read when the command runs)."""
    return Console()

URL_HELP = "database URL (default: SPARES_DATABASE_URL or sqlite:///spares.db)"


def _sessions(url: str | None):
    from api.settings import load as load_settings
    from inventory.db.engine import make_engine, session_factory

    return session_factory(make_engine(url or load_settings().database_url))


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def parse_expiry(text: str | None) -> datetime | None:
    """``--expires``: an ISO date (midnight UTC) or date-time (UTC without an offset)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO date or date-time "
                                 "(e.g. 2027-01-01 or 2027-01-01T12:00+08:00)",
                                 param_hint="--expires") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_key(url: str | None, name: str, scopes: list[str] | str) -> str:
    """Create a key of the default organization in the database at ``url`` and return the
    plain key (only its hash is stored; the caller shows it once). ``scopes``: ticketing,
    planner and/or admin."""
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
           org: str = typer.Option("org_default", "--org",
                                   help="id or name of the organization the key belongs to"),
           expires: str | None = typer.Option(None, "--expires",
                                              help="refused from then on: ISO date or date-time"),
           url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Create an API key of an organization and print it once; only its SHA-256 hash is
    stored."""
    from api.auth.service import create_key, default_organization, find_organization

    expires_at = parse_expiry(expires)
    sessions = _sessions(url)
    with sessions() as session, session.begin():
        found = (default_organization(session=session) if org == "org_default"
                 else find_organization(session=session, ref=org))
        if found is None:
            raise typer.BadParameter(f"no organization {org!r} (see `spares orgs list`)",
                                     param_hint="--org")
        try:
            row, plain = create_key(session=session, name=name, scopes=scope,
                                    organization_id=found.id, expires_at=expires_at)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--scope / --name / --expires") from exc
        key_id, scopes, org_name = row.id, row.scopes, found.name
    _console().print(f"created key [bold]{key_id}[/] for {name!r} of organization {org_name!r} "
                  f"with scopes: {scopes}" + (f", expires {_when(expires_at)} UTC"
                                              if expires_at else ""))
    _console().print("store it now, it is not shown again:")
    typer.echo(plain)


@app.command("list")
def list_keys(org: str | None = typer.Option(None, "--org", help="only this organization's "
                                                                 "(id or name)"),
              url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """List keys (never the secrets)."""
    from api.auth.service import find_organization
    from api.auth.service import list_keys as rows
    from inventory.db.dispatch_models import as_utc

    table = Table()
    table.add_column("id", no_wrap=True)
    for column in ("name", "organization", "scopes", "created", "expires", "revoked"):
        table.add_column(column)
    with _sessions(url)() as session:
        org_id = None
        if org is not None:
            found = find_organization(session=session, ref=org)
            if found is None:
                raise typer.BadParameter(f"no organization {org!r}", param_hint="--org")
            org_id = found.id
        for r in rows(session=session, organization_id=org_id):
            table.add_row(r.id, r.name, r.organization_id, r.scopes, _when(r.created_at),
                          _when(as_utc(r.expires_at)), _when(as_utc(r.revoked_at)))
    _console().print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key id shown by `keys list`"),
           url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Revoke a key (running servers refuse it within 1 s)."""
    from api.auth.service import list_keys as rows
    from api.auth.service import revoke_key

    with _sessions(url)() as session, session.begin():
        active = {r.id for r in rows(session=session) if r.revoked_at is None}
        if key_id in active:
            revoke_key(session=session, key_id=key_id)
    if key_id not in active:
        _console().print(f"[red]no active key {key_id!r}[/]")
        raise typer.Exit(1)
    _console().print(f"revoked {key_id}")


@orgs_app.command("create")
def create_org(name: str = typer.Option(..., "--name", help="unique, e.g. servicenow-prod"),
               url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Create an organization (a ticket-system integration, a partner) and print its id."""
    from api.auth.service import create_organization

    with _sessions(url)() as session, session.begin():
        try:
            org_id = create_organization(session=session, name=name).id
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--name") from exc
    _console().print(f"created organization {name!r}; add keys with "
                  f"`spares keys create --org {org_id} ...`")
    typer.echo(org_id)


@orgs_app.command("list")
def list_orgs(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """List organizations with their number of active keys."""
    from api.auth.service import list_keys as keys_of
    from api.auth.service import list_organizations

    table = Table("id", "name", "created", "active keys")
    with _sessions(url)() as session:
        active: dict[str, int] = {}
        for k in keys_of(session=session):
            if k.revoked_at is None:
                active[k.organization_id] = active.get(k.organization_id, 0) + 1
        for o in list_organizations(session=session):
            table.add_row(o.id, o.name, _when(o.created_at), str(active.get(o.id, 0)))
    _console().print(table)
