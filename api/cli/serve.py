"""`spares serve` command: the dispatch API under uvicorn, with the webhook delivery worker.

Other commands (``spares demo``) call :func:`run` with plain arguments::

    from api.cli.serve import run
    run("sqlite:///spares.db", "127.0.0.1", 8000, plan=Path("plan"))

The database must hold a loaded scenario (``spares db init && spares db load cn-telecom``);
when it does not, or the port is taken, :class:`ServeError` says so in one line, before any long
work and without creating a database file. The listening socket is bound first and handed to
uvicorn, so "serving" is printed only once the port is ours. uvicorn uses uvloop and httptools
(dependencies of the package) when they import.
"""

from __future__ import annotations

import errno
import gc
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from fastapi import FastAPI

if TYPE_CHECKING:
    from api.settings import Settings

ENV_URL = "SPARES_SERVE_URL"
ENV_PLAN = "SPARES_SERVE_PLAN"
"""How :func:`run` hands the database URL and plan folder to worker processes (read back as
:attr:`api.settings.Settings.serve_url` / ``serve_plan``)."""


KEEP_ALIVE_SECONDS = 75
"""How long an idle keep-alive connection stays open: longer than the pools of common HTTP
clients keep one (60 s), so the server never closes a connection a client is about to reuse."""
GRACEFUL_SHUTDOWN_SECONDS = 30
"""How long a stop waits for requests in progress before closing their connections."""
WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a worker's answer to its ping before killing it
(uvicorn's 5 s kills workers that a busy host starves for a moment, mid-request)."""


class ServeError(RuntimeError):
    """The API cannot start (no database, no scenario loaded, bad plan folder), with the reason."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port), taken before any long work; a
    :class:`ServeError` naming the port when it is in use or cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = ("is in use (another server?); choose another with --port"
               if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror}")
        raise ServeError(f"port {port} on {host} {why}") from None
    sock.set_inheritable(True)
    return sock


def check_database(url: str) -> None:
    """A :class:`ServeError` with the command that fixes it unless ``url`` is a database with
    the current spares schema; a SQLite file that does not exist is not created."""
    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from inventory.db.engine import make_engine, sqlite_file
    from inventory.db.migrate import head_revision

    shown = make_url(url).render_as_string(hide_password=True)
    fix = f"spares db init --url {shown} && spares db load cn-telecom --url {shown}"
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise ServeError(f"no database file {path}; create one: {fix}")
    try:
        engine = make_engine(url)
    except ValueError as exc:
        raise ServeError(str(exc)) from None
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise ServeError(f"{shown} holds no spares schema; create it: {fix}")
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ServeError(f"cannot open {shown}: {reason}") from None
    finally:
        engine.dispose()
    if revision != head_revision():
        raise ServeError(f"{shown} has schema revision {revision}, this version needs "
                         f"{head_revision()}: spares db init --url {shown}")


def build_app(url: str | None = None, plan: Path | None = None, *,
              webhook_worker: bool = True, check: bool = True) -> FastAPI:
    """The API app on the database at ``url`` (default: ``SPARES_DATABASE_URL`` or
    ``sqlite:///spares.db``); critical levels from the stocking plan in ``plan`` if given.
    ``check``: :func:`check_database` first (worker processes skip it: their parent did)."""
    from api.app import create_app
    from api.context import ApiSettings
    from api.settings import load as load_settings
    from inventory.db.engine import normalize_url
    from inventory.db.load import LoadError

    target = normalize_url(url or load_settings().database_url)
    if check:
        check_database(target)
    # The scenario and network model are ~300,000 long-lived objects: a full garbage collection
    # over them takes ~150 ms, a pause every few thousand requests. They are built with the
    # collector off (its passes over the growing model would only slow the start) and then
    # frozen: moved out of the collector's generations (they live as long as the server anyway).
    gc.disable()
    try:
        app = create_app(ApiSettings(database_url=target, plan_dir=plan,
                                     webhook_worker=webhook_worker))
    except LoadError as exc:
        raise ServeError(f"cannot start: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - one clear message instead of a traceback
        raise ServeError(f"cannot start on {target}: {type(exc).__name__}: {exc}") from exc
    finally:
        gc.freeze()
        gc.enable()
    return app


def app_from_env() -> FastAPI:
    """The app factory of uvicorn's worker processes (``--workers`` > 1), configured by
    :data:`ENV_URL` and :data:`ENV_PLAN`; logs as :func:`setup_logging` says."""
    env = setup_logging()
    return build_app(env.serve_url, env.serve_plan, check=False)


def setup_logging() -> Settings:
    """Structured logs to stderr at ``SPARES_LOG_LEVEL`` in ``SPARES_LOG_FORMAT`` (JSON by
    default), uvicorn's own loggers included; the settings, read once."""
    from api.observability import configure_logging
    from api.settings import load as load_settings

    env = load_settings()
    configure_logging(level=env.log_level, fmt=env.log_format)
    return env


def prepare_metrics_dir(env: Settings) -> None:
    """With ``SPARES_METRICS_DIR`` / ``PROMETHEUS_MULTIPROC_DIR`` set: create the folder, drop
    the files of an earlier server (their counts would add to this one's) and hand the folder
    to prometheus-client in this process and the workers (before it is imported)."""
    if env.metrics_dir is None:
        return
    env.metrics_dir.mkdir(parents=True, exist_ok=True)
    for old in env.metrics_dir.glob("*.db"):
        old.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(env.metrics_dir)


def run(url: str | None = None, host: str = "127.0.0.1", port: int = 8000, *,
        plan: Path | None = None, workers: int = 1, log_level: str = "warning",
        echo: Callable[[str], None] = typer.echo, sock: socket.socket | None = None) -> None:
    """Serve the API until interrupted (blocking); raises :class:`ServeError` if it cannot start.

    ``workers`` > 1 runs that many processes on the one port (each with its own scenario model
    and webhook worker; stock stays exact through the database's guarded updates). ``sock``: a
    socket from :func:`bind` taken earlier (``spares demo`` takes it before its long work).
    """
    import uvicorn

    from api.settings import SettingsError

    sock = sock or bind(host, port)
    try:
        try:
            env = setup_logging()
        except SettingsError as exc:
            raise ServeError(f"bad setting: {exc}") from None
        prepare_metrics_dir(env)
        app = build_app(url, plan, webhook_worker=workers == 1)
        ctx = app.state.ctx
        if workers > 1:
            ctx.dispose()
            os.environ[ENV_URL] = str(ctx.engine.url.render_as_string(hide_password=False))
            if plan is not None:
                os.environ[ENV_PLAN] = str(plan)
        # uvicorn's loggers go through the structured handler (log_config=None); the access
        # log is ours (api.observability.middleware), one line per request with its route
        from api.cli.nodelay import NoDelayHttpToolsProtocol

        options = {"fd": sock.fileno(), "http": NoDelayHttpToolsProtocol,
                   "log_level": log_level, "access_log": False,
                   "log_config": None,
                   "timeout_keep_alive": KEEP_ALIVE_SECONDS,
                   "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
                   "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS}
        echo(f"serving {ctx.scenario.name!r} ({len(ctx.scenario.depots)} depots, "
             f"{len(ctx.scenario.sites)} sites) on http://{host}:{port} (docs at /docs)"
             + (f" with {workers} worker processes" if workers > 1 else ""))
        if workers == 1:
            uvicorn.run(app, **options)
        else:
            uvicorn.run("api.cli.serve:app_from_env", factory=True, workers=workers, **options)
    finally:
        sock.close()


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
