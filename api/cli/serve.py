"""`spares serve` command: the dispatch API under uvicorn, with the webhook delivery worker.

Other commands (``spares demo``) call :func:`run` with plain arguments::

    from api.cli.serve import run
    run("sqlite:///spares.db", "127.0.0.1", 8000, plan=Path("plan"))

The database must hold a loaded scenario (``spares db init && spares db load cn-telecom``).
uvicorn uses uvloop and httptools (dependencies of the package) when they import.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path

import typer
from fastapi import FastAPI

ENV_URL = "SPARES_SERVE_URL"
ENV_PLAN = "SPARES_SERVE_PLAN"
"""How :func:`run` hands the database URL and plan folder to worker processes."""


class ServeError(RuntimeError):
    """The API cannot start (no database, no scenario loaded, bad plan folder), with the reason."""


def build_app(url: str | None = None, plan: Path | None = None, *,
              webhook_worker: bool = True) -> FastAPI:
    """The API app on the database at ``url`` (default: ``SPARES_DATABASE_URL`` or
    ``sqlite:///spares.db``); critical levels from the stocking plan in ``plan`` if given."""
    from api.app import create_app
    from api.context import ApiSettings
    from inventory.db.engine import database_url, normalize_url

    target = normalize_url(url) if url else database_url()
    try:
        app = create_app(ApiSettings(database_url=target, plan_dir=plan,
                                     webhook_worker=webhook_worker))
    except Exception as exc:  # noqa: BLE001 - one clear message instead of a traceback
        hint = ("" if "scenario" not in str(exc).lower() else
                "; load one first: spares db init && spares db load cn-telecom")
        raise ServeError(f"cannot start on {target}: {type(exc).__name__}: {exc}{hint}") from exc
    # The scenario and network model are ~300,000 long-lived objects: a full garbage collection
    # over them takes ~150 ms, a pause every few thousand requests. Freezing them moves them out
    # of the collector's generations (they live as long as the server anyway).
    gc.collect()
    gc.freeze()
    return app


def app_from_env() -> FastAPI:
    """The app factory of uvicorn's worker processes (``--workers`` > 1), configured by
    :data:`ENV_URL` and :data:`ENV_PLAN`."""
    plan = os.environ.get(ENV_PLAN)
    return build_app(os.environ.get(ENV_URL) or None, Path(plan) if plan else None)


def run(url: str | None = None, host: str = "127.0.0.1", port: int = 8000, *,
        plan: Path | None = None, workers: int = 1, log_level: str = "warning",
        echo: Callable[[str], None] = typer.echo) -> None:
    """Serve the API until interrupted (blocking); raises :class:`ServeError` if it cannot start.

    ``workers`` > 1 runs that many processes on the one port (each with its own scenario model
    and webhook worker; stock stays exact through the database's guarded updates).
    """
    import uvicorn

    app = build_app(url, plan, webhook_worker=workers == 1)
    ctx = app.state.ctx
    echo(f"serving {ctx.scenario.name!r} ({len(ctx.scenario.depots)} depots, "
         f"{len(ctx.scenario.sites)} sites) on http://{host}:{port} (docs at /docs)"
         + (f" with {workers} worker processes" if workers > 1 else ""))
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
        return
    ctx.dispose()
    os.environ[ENV_URL] = str(ctx.engine.url.render_as_string(hide_password=False))
    if plan is not None:
        os.environ[ENV_PLAN] = str(plan)
    uvicorn.run("api.cli.serve:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level=log_level, access_log=False)


def serve(host: str = typer.Option("127.0.0.1", "--host", help="interface to bind"),
          port: int = typer.Option(8000, "--port", min=1, max=65535),
          url: str | None = typer.Option(None, "--url",
                                         help="database URL (default: SPARES_DATABASE_URL or "
                                              "sqlite:///spares.db)"),
          plan: Path | None = typer.Option(None, "--plan", exists=True, file_okay=False,
                                           help="stocking plan folder (spares plan --out) whose "
                                                "base stock sets the rationing levels"),
          workers: int = typer.Option(1, "--workers", min=1, max=64,
                                      help="server processes on the port"),
          log_level: str = typer.Option("warning", "--log-level")) -> None:
    """Serve the dispatch API (OpenAPI at /docs) on the database's scenario."""
    try:
        run(url, host, port, plan=plan, workers=workers, log_level=log_level)
    except ServeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def register(root: typer.Typer) -> None:
    """Attach `spares serve` to the root app."""
    root.command("serve")(serve)
