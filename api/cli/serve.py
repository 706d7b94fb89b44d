"""`spares serve` command: the dispatch API under uvicorn, with the webhook delivery worker."""

from __future__ import annotations

from pathlib import Path

import typer


def serve(host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          url: str | None = typer.Option(None, "--url",
                                         help="database URL (default: SPARES_DATABASE_URL or "
                                              "sqlite:///spares.db)"),
          plan: Path | None = typer.Option(None, "--plan", exists=True, file_okay=False,
                                           help="stocking plan folder for rationing levels"),
          log_level: str = typer.Option("warning", "--log-level")) -> None:
    """Serve the dispatch API (OpenAPI at /docs) on the database's scenario."""
    import uvicorn

    from api.app import create_app
    from api.context import ApiSettings

    try:
        app = create_app(ApiSettings(database_url=url, plan_dir=plan, webhook_worker=True))
    except Exception as exc:  # noqa: BLE001 - report a clear startup error, not a traceback
        typer.echo(f"error: cannot start: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"serving {app.state.ctx.scenario.name!r} on http://{host}:{port} (docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def register(root: typer.Typer) -> None:
    """Attach `spares serve` to the root app."""
    root.command("serve")(serve)
