"""`spares users ...`: the planner workspace's people (log in at ``/`` with a password):
create, list, set a password, move to another organization, disable. Passwords are stored
only as Argon2 hashes; a password is typed at a hidden prompt, or read from standard input
with ``--password-stdin``. A user belongs to an organization (``--organization``, default
``org_default``) and acts as it."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from api.cli.keys import URL_HELP, _sessions, _when

app = typer.Typer(no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _run(url: str | None, action) -> object:
    """``action(session)`` in one transaction; a refused input is a message naming the field."""
    from api.ui.people import UserError

    sessions = _sessions(url)
    try:
        with sessions() as session, session.begin():
            return action(session)
    except UserError as exc:
        Console(stderr=True).print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(2) from None
    finally:
        sessions.kw["bind"].dispose()


@app.command("create")
def create(username: str = typer.Option(..., "--username", help="what the person logs in as"),
           name: str = typer.Option(..., "--name", help="the person's name, as the audit "
                                                        "trail and approvals record it"),
           scope: str = typer.Option(..., "--scope", help="planner (changes things) or viewer"),
           organization: str = typer.Option(
               "org_default", "--organization", "--org",
               help="id or name of the organization the user acts as (a viewer sees only its "
                    "dispatches, webhooks, runs, overlays and overrides)"),
           password_stdin: bool = typer.Option(False, "--password-stdin",
                                               help="read the password from standard input"),
           url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Create a workspace user with a password, of an organization."""
    from api.auth.service import find_organization
    from api.ui.people import create_user

    password = _password(password_stdin)

    def add(s) -> tuple[str, str, str, str]:
        row = create_user(session=s, username=username, display_name=name, password=password,
                          scope=scope, organization=organization)
        org = find_organization(session=s, ref=row.organization_id)
        return row.username, row.display_name, row.scope, org.name if org else row.organization_id

    user, shown, scope_, org_name = _run(url, add)
    Console().print(f"created user {user!r} ({shown}, {scope_}) of organization {org_name!r}",
                    highlight=False)


@app.command("list")
def list_users(url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """List the users with their organization (never the password hashes)."""
    from api.auth.service import list_organizations
    from api.ui.people import list_users as rows

    def listed(s) -> list[tuple]:
        names = {o.id: o.name for o in list_organizations(session=s)}
        return [(u.username, u.display_name, u.scope,
                 f"{names.get(u.organization_id, '?')} ({u.organization_id})", u.created_at,
                 u.disabled_at) for u in rows(session=s)]

    table = Table()
    for column in ("username", "name", "scope", "organization", "created", "disabled"):
        table.add_column(column)
    for r in _run(url, listed):
        table.add_row(r[0], r[1], r[2], r[3], _when(r[4]), _when(r[5]))
    Console().print(table)


@app.command("password")
def password(username: str = typer.Argument(..., help="the user"),
             password_stdin: bool = typer.Option(False, "--password-stdin",
                                                 help="read the password from standard input"),
             url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Set a new password; the user's open sessions end."""
    from api.ui.people import set_password

    new = _password(password_stdin)
    _run(url, lambda s: set_password(session=s, username=username, password=new))
    Console().print(f"password of {username!r} changed; its sessions ended")


@app.command("move")
def move(username: str = typer.Argument(..., help="the user"),
         organization: str = typer.Option(..., "--organization", "--org",
                                           help="id or name of the organization the user "
                                                "acts as from now on"),
         url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Move a user to another organization; the user's open sessions end."""
    from api.auth.service import find_organization
    from api.ui.people import move_user

    def moved(s) -> tuple[str, bool]:
        row, changed = move_user(session=s, username=username, organization=organization)
        org = find_organization(session=s, ref=row.organization_id)
        return (org.name if org else row.organization_id), changed

    org_name, changed = _run(url, moved)
    Console().print(f"moved {username!r} to organization {org_name!r}; its sessions ended"
                    if changed else f"{username!r} is of organization {org_name!r} already; "
                    "nothing changed", highlight=False)


@app.command("disable")
def disable(username: str = typer.Argument(..., help="the user"),
            url: str | None = typer.Option(None, "--url", help=URL_HELP)) -> None:
    """Disable a user: no more logins, open sessions end."""
    from api.ui.people import disable_user

    _run(url, lambda s: disable_user(session=s, username=username))
    Console().print(f"disabled {username!r}")
